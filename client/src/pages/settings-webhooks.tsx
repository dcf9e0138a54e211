/**
 * Settings › Webhooks: an admin registers an endpoint (URL, description, which integrations'
 * changes it receives) and gets its signing secret once; each endpoint can be turned off and on,
 * given a new secret (shown once), sent a test, and deleted after a confirmation; its delivery log
 * shows each delivery's status, attempts, the endpoint's last answer and when. Others are told
 * that admins manage webhooks.
 */
import { useEffect, useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Form } from '../components/credential-form';
import { useInlineActions } from '../components/inline-actions';
import { SecretOnce } from '../components/secret-once';
import { LoadError, OutcomeNotice, outcomeOf, Pill, Skeleton, TimeAgo, type Outcome } from '../components/ui';
import {
  CreateWebhookEndpointMutation,
  DeleteWebhookEndpointMutation,
  RotateWebhookEndpointSecretMutation,
  SendTestWebhookMutation,
  UpdateWebhookEndpointMutation,
  WebhookDeliveriesQuery,
  WebhookEndpointsQuery,
  type WebhookDeliveryStatus,
  type WebhookEndpointRow,
} from '../documents';
import { dateTime, words } from '../format';
import { focusPageHeading } from '../page';
import { AdminsOnly, Section } from './settings';

export function WebhooksTab({ admin }: { admin: boolean }) {
  const [result, reexecute] = useQuery({ query: WebhookEndpointsQuery, pause: !admin });
  const refresh = () => reexecute({ requestPolicy: 'network-only' });
  const ids = useId();
  if (!admin) {
    return <AdminsOnly>Webhook endpoints send the account’s connection changes to partners; an admin registers and manages them.</AdminsOnly>;
  }
  const endpoints = result.data?.viewer.account.webhookEndpoints;
  return (
    <>
      <Section
        id={`${ids}-new`}
        title="New endpoint"
        description="Every connection status change is POSTed to it as a signed Standard Webhook (HMAC-SHA256)."
      >
        <CreateEndpointForm onCreated={refresh} />
      </Section>
      <Section id={`${ids}-list`} title="Endpoints">
        {result.error && !endpoints && <LoadError error={result.error} retry={refresh} />}
        {!result.data && !result.error && <Skeleton rows={2} />}
        {endpoints && endpoints.nodes.length === 0 && <p className="muted">No endpoints yet.</p>}
        {endpoints && endpoints.nodes.length > 0 && (
          <ul className="settings-list" aria-label="Webhook endpoints">
            {endpoints.nodes.map((endpoint) => (
              <EndpointRow key={endpoint.id} endpoint={endpoint} onChanged={refresh} />
            ))}
          </ul>
        )}
      </Section>
    </>
  );
}

function CreateEndpointForm({ onCreated }: { onCreated: () => void }) {
  const [, create] = useMutation(CreateWebhookEndpointMutation);
  const ids = useId();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [filter, setFilter] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);

  async function submit() {
    setBusy(true);
    setOutcome(null);
    setInvalid(null);
    setSecret(null);
    try {
      const keys = words(filter);
      const { value, failure } = outcomeOf<{ __typename: string; payload: { secret: string; webhookEndpoint: WebhookEndpointRow } }>(
        await create({ input: { url: url.trim(), description: description.trim() || null, integrationKeys: keys.length ? keys : null } }),
        'createWebhookEndpoint',
      );
      if (failure) {
        if (failure.kind === 'error') setInvalid(failure.error.field ?? null);
        setOutcome(failure);
        return;
      }
      setSecret({ url: value!.payload.webhookEndpoint.url, secret: value!.payload.secret });
      setUrl('');
      setDescription('');
      setFilter('');
      onCreated();
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      {secret && (
        <SecretOnce
          title="Endpoint registered: its signing secret"
          secret={secret.secret}
          hint={`Give it to the receiver at ${secret.url} to verify each delivery.`}
          onDone={() => {
            setSecret(null);
            document.getElementById(`${ids}-url`)?.focus();
          }}
        />
      )}
      <Form className="panel stacked-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor={`${ids}-url`}>URL</label>
          <input id={`${ids}-url`} type="url" required spellCheck={false} value={url} aria-invalid={invalid === 'url' || undefined} onChange={(event) => setUrl(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-description`}>
            Description <span className="muted">(optional)</span>
          </label>
          <input id={`${ids}-description`} maxLength={500} value={description} aria-invalid={invalid === 'description' || undefined} onChange={(event) => setDescription(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-filter`}>
            Only these integrations <span className="muted">(optional)</span>
          </label>
          <input
            id={`${ids}-filter`}
            spellCheck={false}
            value={filter}
            aria-invalid={invalid === 'integrationKeys' || undefined}
            aria-describedby={`${ids}-filter-hint`}
            onChange={(event) => setFilter(event.target.value)}
          />
          <p className="hint" id={`${ids}-filter-hint`}>
            Integration keys separated by spaces or commas, e.g. “hubspot salesforce”. Empty: every connection.
          </p>
        </div>
        {outcome && <OutcomeNotice outcome={outcome} onDismiss={() => setOutcome(null)} focus />}
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={busy || !url.trim()}>
            {busy ? 'Registering…' : 'Add endpoint'}
          </button>
        </div>
      </Form>
    </>
  );
}

type EndpointMode = 'confirm-rotate' | 'confirm-delete';

function EndpointRow({ endpoint, onChanged }: { endpoint: WebhookEndpointRow; onChanged: () => void }) {
  const [, update] = useMutation(UpdateWebhookEndpointMutation);
  const [, rotate] = useMutation(RotateWebhookEndpointSecretMutation);
  const [, sendTest] = useMutation(SendTestWebhookMutation);
  const [, remove] = useMutation(DeleteWebhookEndpointMutation);
  const actions = useInlineActions<EndpointMode>({ clearOutcomeOnOpen: true, fallbackFocus: focusPageHeading });
  const [secret, setSecret] = useState<string | null>(null);
  const [logOpen, setLogOpen] = useState(false);
  const [logVersion, setLogVersion] = useState(0);
  const busy = actions.busy !== null;

  const toggle = () =>
    actions.perform('toggle', async () => {
      const { failure } = outcomeOf(await update({ input: { id: endpoint.id, enabled: !endpoint.enabled } }), 'updateWebhookEndpoint');
      if (failure) return failure;
      onChanged();
      return { kind: 'notice', tone: 'success', title: endpoint.enabled ? 'Deliveries are off' : 'Deliveries are on' };
    });

  const confirmRotate = () =>
    actions.perform('rotate', async () => {
      const { value, failure } = outcomeOf<{ __typename: string; payload: { secret: string } }>(await rotate({ id: endpoint.id }), 'rotateWebhookEndpointSecret');
      actions.setMode('idle');
      if (failure) return failure;
      setSecret(value!.payload.secret);
      onChanged();
      return null;
    });

  const test = () =>
    actions.perform('test', async () => {
      const { failure } = outcomeOf(await sendTest({ id: endpoint.id }), 'sendTestWebhook');
      if (failure) return failure;
      setLogOpen(true);
      setLogVersion((version) => version + 1);
      return { kind: 'notice', tone: 'info', title: 'A test delivery is queued', body: <p>It shows in the delivery log below once sent.</p> };
    });

  const confirmDelete = () =>
    actions.perform('delete', async () => {
      const { failure } = outcomeOf(await remove({ id: endpoint.id }), 'deleteWebhookEndpoint');
      if (failure) {
        actions.setMode('idle');
        return failure;
      }
      actions.dropFocusReturn();
      onChanged();
      focusPageHeading();
      return null;
    });

  return (
    <li className="settings-row settings-row-stacked" data-endpoint={endpoint.url}>
      <div ref={actions.root} onKeyDown={actions.onKeyDown} className="settings-endpoint">
        <div className="settings-row-line">
          <div className="settings-row-main">
            <span className="settings-row-title break">{endpoint.url}</span>
            <span className="muted small">
              {endpoint.description ? `${endpoint.description} · ` : ''}
              {endpoint.integrationKeys ? `only ${endpoint.integrationKeys.join(', ')}` : 'every connection'}
              {' · added '}
              <TimeAgo iso={endpoint.createdAt} />
            </span>
            {endpoint.disabledReason && <span className="small">Turned off by Patchbay: {endpoint.disabledReason}</span>}
            {endpoint.previousSecretExpiresAt && <span className="muted small">The previous secret also signs until {dateTime(endpoint.previousSecretExpiresAt)}.</span>}
          </div>
          <Pill tone={endpoint.enabled ? 'good' : 'warn'}>{endpoint.enabled ? 'Enabled' : 'Disabled'}</Pill>
        </div>
        {actions.mode === 'idle' && (
          <div className="actions">
            <button type="button" className="button button-small button-secondary" data-action="test" disabled={busy || !endpoint.enabled} onClick={test}>
              {actions.busy === 'test' ? 'Sending…' : 'Send test'}
            </button>
            <button type="button" className="button button-small button-secondary" data-action="toggle" disabled={busy} onClick={toggle}>
              {endpoint.enabled ? 'Disable' : 'Enable'}
            </button>
            <button type="button" className="button button-small button-secondary" data-action="rotate" disabled={busy} onClick={() => actions.setMode('confirm-rotate', 'rotate')}>
              Rotate secret
            </button>
            <button type="button" className="button button-small button-secondary" aria-expanded={logOpen} onClick={() => setLogOpen(!logOpen)}>
              {logOpen ? 'Hide deliveries' : 'Deliveries'}
            </button>
            <button type="button" className="button button-small button-danger-quiet" data-action="delete" disabled={busy} onClick={() => actions.setMode('confirm-delete', 'delete')}>
              Delete
            </button>
          </div>
        )}
        {actions.mode === 'confirm-rotate' && (
          <div className="confirm" role="group" aria-label={`Rotate the secret of ${endpoint.url}`}>
            <p>Give {endpoint.url} a new signing secret? The current one keeps signing too for 24 hours, while the receiver switches.</p>
            <div className="actions">
              <button type="button" className="button button-small button-primary" autoFocus disabled={busy} onClick={confirmRotate}>
                {actions.busy ? 'Rotating…' : 'Rotate secret'}
              </button>
              <button type="button" className="button button-small button-ghost" onClick={() => actions.setMode('idle')}>
                Cancel
              </button>
            </div>
          </div>
        )}
        {actions.mode === 'confirm-delete' && (
          <div className="confirm" role="group" aria-label={`Delete ${endpoint.url}`}>
            <p>Delete the endpoint {endpoint.url} with its delivery log? Pending deliveries are dropped; this cannot be undone.</p>
            <div className="actions">
              <button type="button" className="button button-small button-danger" autoFocus disabled={busy} onClick={confirmDelete}>
                {actions.busy ? 'Deleting…' : 'Delete endpoint'}
              </button>
              <button type="button" className="button button-small button-ghost" onClick={() => actions.setMode('idle')}>
                Cancel
              </button>
            </div>
          </div>
        )}
      </div>
      {secret && <SecretOnce title="The new signing secret" secret={secret} hint="Deploy it to the receiver; the old secret stops signing after its grace period." onDone={() => setSecret(null)} />}
      {actions.outcome && <OutcomeNotice key={actions.outcomeKey} outcome={actions.outcome} onDismiss={() => actions.setOutcome(null)} focus />}
      {logOpen && <DeliveryLog endpointId={endpoint.id} url={endpoint.url} version={logVersion} />}
    </li>
  );
}

const DELIVERY_LABELS: Record<WebhookDeliveryStatus, { label: string; tone: 'good' | 'bad' | 'warn' }> = {
  SENT: { label: 'Sent', tone: 'good' },
  FAILED: { label: 'Failed', tone: 'bad' },
  PENDING: { label: 'Pending', tone: 'warn' },
};

/** Polls the log while deliveries wait for an attempt (every few seconds, until none is pending). */
const PENDING_POLL_MS = 3_000;

function DeliveryLog({ endpointId, url, version }: { endpointId: string; url: string; version: number }) {
  const [result, reexecute] = useQuery({ query: WebhookDeliveriesQuery, variables: { id: endpointId }, requestPolicy: 'network-only' });
  const deliveries = result.data?.node?.deliveries;
  const refresh = () => reexecute({ requestPolicy: 'network-only' });
  useEffect(() => {
    if (version > 0) refresh();
  }, [version]);
  const pending = deliveries?.nodes.some((delivery) => delivery.status === 'PENDING') ?? false;
  useEffect(() => {
    if (!pending || result.fetching) return;
    const timer = setTimeout(refresh, PENDING_POLL_MS);
    return () => clearTimeout(timer);
  }, [pending, result.fetching, deliveries]);

  return (
    <div className="settings-log">
      <div className="settings-row-line">
        <h3>Delivery log</h3>
        <span className="muted small">{deliveries ? `${deliveries.totalCount} in all, newest first` : ''}</span>
        <button type="button" className="button button-small button-ghost" onClick={refresh} disabled={result.fetching}>
          {result.fetching ? 'Refreshing…' : 'Refresh log'}
        </button>
      </div>
      {result.error && !deliveries && <LoadError error={result.error} retry={refresh} />}
      {deliveries && deliveries.nodes.length === 0 && <p className="muted small">Nothing delivered yet.</p>}
      {deliveries && deliveries.nodes.length > 0 && (
        <div className="settings-table" role="region" aria-label={`Deliveries to ${url}`} tabIndex={0}>
          <table className="runs">
            <thead>
              <tr>
                <th>Event</th>
                <th>Status</th>
                <th className="numeric">Attempts</th>
                <th className="numeric">Response</th>
                <th>Time</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.nodes.map((delivery) => (
                <tr key={delivery.id} data-delivery={delivery.eventType} data-status={delivery.status}>
                  <td>
                    <code>{delivery.eventType}</code>
                    {delivery.lastError && <div className="run-error small">{delivery.lastError}</div>}
                  </td>
                  <td>
                    <Pill tone={DELIVERY_LABELS[delivery.status].tone}>{DELIVERY_LABELS[delivery.status].label}</Pill>
                  </td>
                  <td className="numeric">{delivery.attempts}</td>
                  <td className="numeric">{delivery.responseStatus ?? '–'}</td>
                  <td>{dateTime(delivery.deliveredAt ?? delivery.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
