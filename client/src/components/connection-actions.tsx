/**
 * What a person can do with a connection, as buttons shown only when `viewerCan` allows them:
 * test, reauthenticate, revoke, rename, share or unshare, delete. Each answers in place with the
 * outcome or the typed error the gateway returned.
 */
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import {
  DeleteConnectionMutation,
  IntegrationQuery,
  ReauthenticateConnectionMutation,
  RevokeConnectionMutation,
  TestConnectionMutation,
  UpdateConnectionMutation,
  type ConnectionSummary,
} from '../documents';
import { signsInAtService } from '../format';
import { CredentialFields, filledCredentials, Form } from './credential-form';
import { OutcomeNotice, outcomeOf, type Outcome } from './ui';

type Mode = 'idle' | 'rename' | 'reauthenticate' | 'confirm-revoke' | 'confirm-delete';

type ButtonTone = 'primary' | 'secondary' | 'ghost' | 'danger' | 'danger-quiet';

/**
 * The one small button every action, form and confirmation here uses: `busyLabel` (by default the
 * label with an ellipsis) stands in for the label while its action runs.
 */
function ActionButton({
  label,
  busyLabel = `${label}…`,
  tone,
  busy = false,
  disabled = false,
  submit = false,
  action,
  onClick,
}: {
  label: string;
  busyLabel?: string;
  tone: ButtonTone;
  busy?: boolean;
  disabled?: boolean;
  submit?: boolean;
  /** data-action, what the browser tests find the button by. */
  action?: string;
  onClick?: () => void;
}) {
  return (
    <button type={submit ? 'submit' : 'button'} className={`button button-small button-${tone}`} disabled={disabled} data-action={action} onClick={onClick}>
      {busy ? busyLabel : label}
    </button>
  );
}

/** Where an OAuth sign-in comes back to: this dashboard (the gateway's own origin is allowed). */
export function returnUrl(): string {
  return new URL('/', window.location.href).toString();
}

export function ConnectionActions({ connection, onDeleted }: { connection: ConnectionSummary; onDeleted?: () => void }) {
  const can = connection.viewerCan;
  const [mode, setMode] = useState<Mode>('idle');
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [name, setName] = useState(connection.name ?? '');
  const [credentials, setCredentials] = useState<Record<string, string>>({});

  const [, test] = useMutation(TestConnectionMutation);
  const [, reauthenticate] = useMutation(ReauthenticateConnectionMutation);
  const [, revoke] = useMutation(RevokeConnectionMutation);
  const [, update] = useMutation(UpdateConnectionMutation);
  const [, remove] = useMutation(DeleteConnectionMutation);
  const oauth = signsInAtService(connection.integration.authMethod);
  // The credential fields are only needed once someone opens the reauthentication form.
  const [integration] = useQuery({ query: IntegrationQuery, variables: { key: connection.integration.key }, pause: mode !== 'reauthenticate' || oauth });

  async function perform(action: string, work: () => Promise<Outcome | null>) {
    setBusy(action);
    setOutcome(null);
    try {
      const next = await work();
      setOutcome(next);
    } finally {
      setBusy(null);
    }
  }

  const onTest = () =>
    perform('test', async () => {
      const { value, failure } = outcomeOf<{ __typename: 'TestConnectionSuccess'; result: { ok: boolean; transientMessage: string | null } }>(
        await test({ id: connection.id }),
        'testConnection',
      );
      if (failure) return failure;
      const { ok, transientMessage } = value!.result;
      if (ok) return { kind: 'notice', tone: 'success', title: 'Test passed: the service accepted the connection.' };
      if (transientMessage) return { kind: 'notice', tone: 'warn', title: 'The service could not be reached; the status did not change.', body: <p>{transientMessage}</p> };
      return { kind: 'notice', tone: 'error', title: 'Test failed: the service refused the connection.' };
    });

  const onReauthenticate = () =>
    perform('reauthenticate', async () => {
      const input = oauth ? { id: connection.id, returnTo: returnUrl() } : { id: connection.id, credentials: filledCredentials(credentials) };
      const { value, failure } = outcomeOf<{ __typename: string; result: { authorizationUrl: string | null } }>(
        await reauthenticate({ input }),
        'reauthenticateConnection',
      );
      if (failure) return failure;
      if (value!.result.authorizationUrl) {
        window.location.assign(value!.result.authorizationUrl);
        return { kind: 'notice', tone: 'info', title: `Taking you to ${connection.integration.name} to sign in…` };
      }
      setMode('idle');
      setCredentials({});
      return { kind: 'notice', tone: 'success', title: 'Reauthenticated: the connection is active again.' };
    });

  const onRevoke = () =>
    perform('revoke', async () => {
      const { value, failure } = outcomeOf<{ __typename: string; result: { providerRevoked: boolean; providerMessage: string } }>(
        await revoke({ id: connection.id }),
        'revokeConnection',
      );
      setMode('idle');
      if (failure) return failure;
      const { providerRevoked, providerMessage } = value!.result;
      return {
        kind: 'notice',
        tone: providerRevoked ? 'success' : 'info',
        title: providerRevoked ? `Revoked here and at ${connection.integration.name}.` : 'Revoked here.',
        body: <p className="muted small">{providerMessage}</p>,
      };
    });

  const onRename = () =>
    perform('rename', async () => {
      const { failure } = outcomeOf(await update({ input: { id: connection.id, name: name.trim() } }), 'updateConnection');
      if (failure) return failure;
      setMode('idle');
      return { kind: 'notice', tone: 'success', title: 'Renamed.' };
    });

  const onShare = () =>
    perform('share', async () => {
      const shared = !connection.shared;
      const { failure } = outcomeOf(await update({ input: { id: connection.id, shared } }), 'updateConnection');
      if (failure) return failure;
      return { kind: 'notice', tone: 'success', title: shared ? 'Shared with everyone in the account.' : 'Now private to its owner.' };
    });

  const onDelete = () =>
    perform('delete', async () => {
      const { failure } = outcomeOf(await remove({ id: connection.id }), 'deleteConnection');
      setMode('idle');
      if (failure) return failure;
      onDeleted?.();
      return null;
    });

  /** A button that starts `action`; all are disabled while any action runs. */
  const actionButton = (action: string, label: string, onClick: () => void, tone: ButtonTone = 'secondary') => (
    <ActionButton action={action} label={label} tone={tone} busy={busy === action} disabled={busy !== null} onClick={onClick} />
  );
  const cancel = <ActionButton label="Cancel" tone="ghost" onClick={() => setMode('idle')} />;

  return (
    <div className="actions-block">
      {mode === 'idle' && (
        <div className="actions">
          {can.use && actionButton('test', 'Test', onTest)}
          {can.reauthenticate &&
            actionButton('reauthenticate', 'Reauthenticate', () => (oauth ? onReauthenticate() : setMode('reauthenticate')), connection.status === 'ACTIVE' ? 'secondary' : 'primary')}
          {can.rename && actionButton('rename', 'Rename', () => { setName(connection.name ?? ''); setMode('rename'); })}
          {can.share && actionButton('share', connection.shared ? 'Unshare' : 'Share', onShare)}
          {can.revoke && actionButton('revoke', 'Revoke', () => setMode('confirm-revoke'), 'danger-quiet')}
          {can.delete && actionButton('delete', 'Delete', () => setMode('confirm-delete'), 'danger-quiet')}
        </div>
      )}

      {mode === 'rename' && (
        <Form className="inline-form" onSubmit={onRename}>
          <label className="sr-only" htmlFor={`rename-${connection.id}`}>
            New name
          </label>
          <input id={`rename-${connection.id}`} value={name} maxLength={120} required autoFocus onChange={(event) => setName(event.target.value)} />
          <ActionButton submit label="Save" busyLabel="Saving…" tone="primary" busy={busy === 'rename'} disabled={busy !== null || !name.trim()} />
          {cancel}
        </Form>
      )}

      {mode === 'reauthenticate' && (
        <Form className="stacked-form" onSubmit={onReauthenticate}>
          <p className="muted small">Enter the current credentials. The connection keeps its id, so its data sources carry on.</p>
          {integration.fetching && <p className="muted small">Loading the fields…</p>}
          {integration.data?.integration && (
            <CredentialFields
              fields={integration.data.integration.credentialFields}
              values={credentials}
              onChange={setCredentials}
              invalidField={outcome?.kind === 'error' ? outcome.error.field : null}
            />
          )}
          <div className="actions">
            <ActionButton
              submit
              label="Test and save"
              busyLabel="Testing…"
              tone="primary"
              busy={busy === 'reauthenticate'}
              disabled={busy !== null || !integration.data}
            />
            {cancel}
          </div>
        </Form>
      )}

      {(mode === 'confirm-revoke' || mode === 'confirm-delete') && (
        <div className="confirm" role="group" aria-label="Confirm">
          <span>
            {mode === 'confirm-revoke'
              ? 'Revoke it? Its credentials are wiped and its data sources stop refreshing.'
              : 'Delete it with its history? This cannot be undone.'}
          </span>
          <ActionButton
            action={mode}
            label={mode === 'confirm-revoke' ? 'Revoke' : 'Delete'}
            busyLabel="Working…"
            tone="danger"
            busy={busy !== null}
            disabled={busy !== null}
            onClick={mode === 'confirm-revoke' ? onRevoke : onDelete}
          />
          {cancel}
        </div>
      )}

      {outcome && <OutcomeNotice outcome={outcome} onDismiss={() => setOutcome(null)} />}
    </div>
  );
}
