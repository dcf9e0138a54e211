/**
 * What a person can do with a connection, shown only when `viewerCan` allows them and the status
 * makes sense of them: test (not while PENDING or REVOKED), reauthenticate, revoke (not once
 * REVOKED), rename, share or unshare, delete. In a list the common ones are buttons and the rest sit
 * in a "More" menu; on the connection's page all are buttons. Each answers in place with the
 * outcome or the typed error the gateway returned, and the focus follows: into a form or a
 * confirmation when it opens, back to what opened it on Cancel or Escape, onto the outcome after.
 *
 * Repair: Reauthenticate signs in at the service (OAuth) or opens the credential form; where the
 * account's OAuth app is missing, an admin is taken to its form (and brought back to continue), a
 * member is told which admins can set it up. Admins may send the owner a reconnect link instead.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { useLocation } from 'wouter';
import {
  AccountPeopleQuery,
  ConnectionReconnectLinksQuery,
  CreateReconnectLinkMutation,
  DeleteConnectionMutation,
  OAuthAppQuery,
  RevokeReconnectLinkMutation,
  ViewerQuery,
  IntegrationQuery,
  ReauthenticateConnectionMutation,
  RevokeConnectionMutation,
  TestConnectionMutation,
  UpdateConnectionMutation,
  type ConnectionSummary,
} from '../documents';
import { dateTime, plural, signsInAtService } from '../format';
import { CredentialFields, filledCredentials, Form } from './credential-form';
import { MenuButton, type MenuHandle, type MenuItem } from './menu';
import { useInlineActions } from './inline-actions';
import { OutcomeNotice, outcomeOf } from './ui';

type Mode = 'rename' | 'reauthenticate' | 'confirm-revoke' | 'confirm-delete' | 'reconnect-link';

type ButtonTone = 'primary' | 'secondary' | 'ghost' | 'danger' | 'danger-quiet';

/**
 * The one small button every action, form and confirmation here uses: `busyLabel` (by default the
 * label with an ellipsis) stands in for the label while its action runs.
 */
export function ActionButton({
  label,
  busyLabel = `${label}…`,
  tone,
  busy = false,
  disabled = false,
  submit = false,
  autoFocus = false,
  action,
  onClick,
}: {
  label: string;
  busyLabel?: string;
  tone: ButtonTone;
  busy?: boolean;
  disabled?: boolean;
  submit?: boolean;
  autoFocus?: boolean;
  /** data-action, what the browser tests find the button by. */
  action?: string;
  onClick?: () => void;
}) {
  return (
    <button type={submit ? 'submit' : 'button'} className={`button button-small button-${tone}`} disabled={disabled} autoFocus={autoFocus} data-action={action} onClick={onClick}>
      {busy ? busyLabel : label}
    </button>
  );
}

/** Where an OAuth sign-in comes back to: this dashboard (the gateway's own origin is allowed). */
export function returnUrl(): string {
  return new URL('/', window.location.href).toString();
}

/** Where an OAuth sign-in for this connection comes back to: its page, which says how it went. */
function connectionUrl(id: string): string {
  return new URL(`/connections/${encodeURIComponent(id)}`, window.location.href).toString();
}

/** The OAuth app form for an integration, returning to `next` (an in-app path) once saved. */
export function oauthAppPath(integrationKey: string, next?: string): string {
  return `/settings/integrations/${encodeURIComponent(integrationKey)}${next ? `?next=${encodeURIComponent(next)}` : ''}`;
}

/** How long a new reconnect link lasts: the choices offered (seconds). */
const LINK_LIFETIMES = [
  { seconds: 86_400, label: '1 day' },
  { seconds: 7 * 86_400, label: '7 days' },
  { seconds: 30 * 86_400, label: '30 days' },
];

/** The account's admins (and owner), who can set up an OAuth app, for someone who cannot. */
export function AdminsWhoCan({ what }: { what: string }) {
  const [people] = useQuery({ query: AccountPeopleQuery });
  const admins = people.data?.viewer.account.users.nodes.filter((person) => person.isOwner || person.role === 'ADMIN') ?? [];
  if (people.fetching) return <p className="muted small">Looking up your account’s admins…</p>;
  if (admins.length === 0) return <p>Ask an admin of your account to {what}.</p>;
  return (
    <>
      <p>Only an admin can {what}. Ask one of them:</p>
      <ul className="people-list" data-admins>
        {admins.map((admin) => (
          <li key={admin.id}>
            {admin.name} ({admin.isOwner ? 'owner' : 'admin'}):{' '}
            <a className="text-link" href={`mailto:${admin.email}`}>
              {admin.email}
            </a>
          </li>
        ))}
      </ul>
    </>
  );
}

/** The statuses a test makes sense in: a PENDING connection has no credentials yet, a REVOKED one none left. */
const TESTABLE = new Set<ConnectionSummary['status']>(['ACTIVE', 'DISCONNECTED']);

interface Action {
  action: string;
  label: string;
  tone: ButtonTone;
  /** Shown as a button in a list (else in the More menu). */
  common: boolean;
  run: () => void;
}

export function ConnectionActions({
  connection,
  onDeleted,
  layout = 'buttons',
  dataSourceCount = null,
}: {
  connection: ConnectionSummary;
  onDeleted?: () => void;
  /**
   * How many data sources read through it, where the page knows (the connection page): while there
   * are any, Delete is unavailable and this says why, with a jump to them.
   */
  dataSourceCount?: number | null;
  /** `menu`: the common actions as buttons and the rest in a menu (lists); `buttons`: all as buttons. */
  layout?: 'menu' | 'buttons';
}) {
  const can = connection.viewerCan;
  const menu = useRef<MenuHandle>(null);
  const { mode, setMode, root, busy, outcome, outcomeKey, setOutcome, onKeyDown, perform, dropFocusReturn } = useInlineActions<Mode>({
    fallbackFocus: () => menu.current?.focus(),
  });
  const [name, setName] = useState(connection.name ?? '');
  // An admin ending someone else's connection is told whose it is before confirming.
  const [viewer] = useQuery({ query: ViewerQuery });
  const othersConnection = viewer.data !== undefined && viewer.data.viewer.user.id !== connection.owner.id;
  const whose = othersConnection ? `${connection.owner.name}’s connection${connection.name ? ` “${connection.name}”` : ''}` : null;
  const [credentials, setCredentials] = useState<Record<string, string>>({});
  const [lifetime, setLifetime] = useState(7 * 86_400);
  const [createdLink, setCreatedLink] = useState<{ url: string; expiresAt: string } | null>(null);
  const [, navigate] = useLocation();
  const client = useClient();
  const me = viewer.data?.viewer.user;
  const viewerIsAdmin = Boolean(me && (me.isOwner || me.role === 'ADMIN'));
  const viewerIsOwner = Boolean(me && me.id === connection.owner.id);

  const [, test] = useMutation(TestConnectionMutation);
  const [, reauthenticate] = useMutation(ReauthenticateConnectionMutation);
  const [, revoke] = useMutation(RevokeConnectionMutation);
  const [, update] = useMutation(UpdateConnectionMutation);
  const [, remove] = useMutation(DeleteConnectionMutation);
  const [, createLink] = useMutation(CreateReconnectLinkMutation);
  const [, revokeLink] = useMutation(RevokeReconnectLinkMutation);
  // Pending reconnect links show on the connection's page, to its owner and admins.
  const showLinks = layout === 'buttons' && (viewerIsAdmin || viewerIsOwner);
  const [links, reloadLinks] = useQuery({ query: ConnectionReconnectLinksQuery, variables: { id: connection.id }, pause: !showLinks });
  const oauth = signsInAtService(connection.integration.authMethod);
  // The credential fields are only needed once someone opens the reauthentication form.
  const [integration] = useQuery({ query: IntegrationQuery, variables: { key: connection.integration.key }, pause: mode !== 'reauthenticate' || oauth });


  // The reauthentication form's first field takes the focus once its fields are read.
  const fieldsLoaded = Boolean(integration.data?.integration);
  useEffect(() => {
    if (mode === 'reauthenticate' && fieldsLoaded) root.current?.querySelector<HTMLElement>('.stacked-form input')?.focus();
  }, [mode, fieldsLoaded]);


  // On the connection's page: how an OAuth sign-in that returned here went (the callback's
  // ?connection=&status=&error=), and `?reauthenticate=1` continues a repair that went by the OAuth app form.
  const arrived = useRef(false);
  useEffect(() => {
    if (layout !== 'buttons' || arrived.current) return;
    arrived.current = true;
    const params = new URLSearchParams(window.location.search);
    const returned = params.get('connection') === connection.id && params.get('status');
    const resume = params.get('reauthenticate') === '1';
    if (!returned && !resume) return;
    window.history.replaceState(window.history.state, '', window.location.pathname);
    if (returned) {
      const error = params.get('error');
      setOutcome(
        error
          ? { kind: 'notice', tone: 'error', title: `Signing in at ${connection.integration.name} did not complete.`, body: <p>{error}</p> }
          : { kind: 'notice', tone: 'success', title: `Signed in at ${connection.integration.name}: the connection is ${params.get('status')!.toLowerCase()}.` },
      );
    } else if (can.reauthenticate) {
      if (oauth) onReauthenticate();
      else setMode('reauthenticate', 'reauthenticate');
    }
  }, []);

  const onCreateLink = () =>
    perform('reconnect-link', async () => {
      const { value, failure } = outcomeOf<{ __typename: string; result: { url: string; link: { expiresAt: string } } }>(
        await createLink({ input: { connectionId: connection.id, expiresIn: lifetime } }),
        'createReconnectLink',
      );
      if (failure) return failure;
      setCreatedLink({ url: value!.result.url, expiresAt: value!.result.link.expiresAt });
      if (showLinks) reloadLinks({ requestPolicy: 'network-only' });
      return null;
    });

  const onRevokeLink = (id: string) =>
    perform(`revoke-link-${id}`, async () => {
      const { failure } = outcomeOf(await revokeLink({ id }), 'revokeReconnectLink');
      if (failure) return failure;
      reloadLinks({ requestPolicy: 'network-only' });
      return { kind: 'notice', tone: 'success', title: 'Reconnect link withdrawn: it no longer works.' };
    });

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
      if (oauth) {
        // Without the account's OAuth app nobody can sign in: an admin sets it up first, then comes back here.
        const app = await client.query(OAuthAppQuery, { key: connection.integration.key }, { requestPolicy: 'network-only' }).toPromise();
        const integration = app.data?.integration;
        if (integration && !integration.oauthClientId) {
          if (viewerIsAdmin) {
            dropFocusReturn();
            navigate(oauthAppPath(integration.key, `/connections/${encodeURIComponent(connection.id)}?reauthenticate=1`));
            return null;
          }
          return {
            kind: 'notice',
            tone: 'warn',
            title: `${integration.name} is not set up for your account yet`,
            body: <AdminsWhoCan what={`set up ${integration.name}’s OAuth app (client id and secret)`} />,
          };
        }
      }
      const input = oauth ? { id: connection.id, returnTo: connectionUrl(connection.id) } : { id: connection.id, credentials: filledCredentials(credentials) };
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
      // The card or page goes away: the focus goes where onDeleted sends it, not back to this card.
      dropFocusReturn();
      onDeleted?.();
      return null;
    });

  const cancel = (focus = false) => <ActionButton label="Cancel" tone="ghost" action="cancel" autoFocus={focus} onClick={() => setMode('idle')} />;

  const status = connection.status;
  const actions: Action[] = [];
  if (can.reauthenticate && status !== 'ACTIVE') {
    actions.push({ action: 'reauthenticate', label: 'Reauthenticate', tone: 'primary', common: true, run: () => (oauth ? onReauthenticate() : setMode('reauthenticate', 'reauthenticate')) });
  }
  if (can.use && TESTABLE.has(status)) actions.push({ action: 'test', label: 'Test', tone: 'secondary', common: true, run: onTest });
  if (can.reauthenticate && status === 'ACTIVE') {
    actions.push({ action: 'reauthenticate', label: 'Reauthenticate', tone: 'secondary', common: false, run: () => (oauth ? onReauthenticate() : setMode('reauthenticate', 'reauthenticate')) });
  }
  if (can.rename) {
    actions.push({ action: 'rename', label: 'Rename', tone: 'secondary', common: false, run: () => { setName(connection.name ?? ''); setMode('rename', 'rename'); } });
  }
  if (can.share) actions.push({ action: 'share', label: connection.shared ? 'Unshare' : 'Share', tone: 'secondary', common: false, run: onShare });
  if (can.revoke && status !== 'REVOKED') actions.push({ action: 'revoke', label: 'Revoke', tone: 'danger-quiet', common: false, run: () => setMode('confirm-revoke', 'revoke') });
  // The owner holds the login at the service: an admin sends them a link rather than signing in with their own.
  if (viewerIsAdmin && !viewerIsOwner && status !== 'PENDING') {
    actions.push({ action: 'reconnect-link', label: 'Send reconnect link', tone: 'secondary', common: false, run: () => { setCreatedLink(null); setMode('reconnect-link', 'reconnect-link'); } });
  }
  if (can.delete) actions.push({ action: 'delete', label: 'Delete', tone: 'danger-quiet', common: false, run: () => setMode('confirm-delete', 'delete') });
  // Delete is the owner's or an admin's (who may also rename or revoke); data sources are what block it.
  const deleteBlocked = !can.delete && (can.rename || can.revoke) && dataSourceCount != null && dataSourceCount > 0;
  const shown = layout === 'menu' ? actions.filter((action) => action.common) : actions;
  const menuItems: MenuItem[] =
    layout === 'menu'
      ? actions.filter((action) => !action.common).map(({ action, label, tone, run }) => ({ action, label, tone: tone === 'danger-quiet' ? 'danger' : undefined, onSelect: run }))
      : [];

  return (
    <div className="actions-block" ref={root} onKeyDown={onKeyDown}>
      {mode === 'idle' && actions.length > 0 && (
        <div className="actions">
          {shown.map(({ action, label, tone, run }) => (
            <ActionButton key={action} action={action} label={label} tone={tone} busy={busy === action} disabled={busy !== null} onClick={run} />
          ))}
          <MenuButton
            ref={menu}
            label="More"
            accessibleName={`More actions for ${connection.name ?? 'this private connection'}`}
            items={menuItems}
            disabled={busy !== null}
          />
          {busy && menuItems.some((item) => item.action === busy) && (
            <span className="muted small" role="status">
              Working…
            </span>
          )}
        </div>
      )}

      {mode === 'idle' && deleteBlocked && (
        <p className="muted small" data-delete-blocked>
          Delete is unavailable: {plural(dataSourceCount!, 'data source')} {dataSourceCount === 1 ? 'reads' : 'read'} through it. Move or delete{' '}
          {dataSourceCount === 1 ? 'it' : 'them'} first.{' '}
          <a
            href="#data-sources"
            data-action="jump-to-data-sources"
            onClick={(event) => {
              const section = document.getElementById('data-sources');
              if (!section) return;
              event.preventDefault();
              section.scrollIntoView({ block: 'start' });
              section.focus();
            }}
          >
            Go to its data sources
          </a>
        </p>
      )}

      {mode === 'rename' && (
        <Form className="inline-form" onSubmit={onRename}>
          <label className="sr-only" htmlFor={`rename-${connection.id}`}>
            New name
          </label>
          <input id={`rename-${connection.id}`} value={name} maxLength={120} required autoFocus onChange={(event) => setName(event.target.value)} />
          <ActionButton submit label="Save" busyLabel="Saving…" tone="primary" busy={busy === 'rename'} disabled={busy !== null || !name.trim()} />
          {cancel()}
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
            {cancel()}
          </div>
        </Form>
      )}

      {mode === 'reconnect-link' && !createdLink && (
        <Form className="stacked-form" onSubmit={onCreateLink}>
          <p className="muted small">
            A one-time link for {connection.owner.name}: they open it signed in as themselves, sign in at {connection.integration.name}, and this
            connection comes back with its data sources. It names you as the one who asked.
          </p>
          <div className="field">
            <label htmlFor={`link-lifetime-${connection.id}`}>Valid for</label>
            <select id={`link-lifetime-${connection.id}`} value={lifetime} onChange={(event) => setLifetime(Number(event.target.value))}>
              {LINK_LIFETIMES.map((choice) => (
                <option key={choice.seconds} value={choice.seconds}>
                  {choice.label}
                </option>
              ))}
            </select>
          </div>
          <div className="actions">
            <ActionButton submit label="Create link" busyLabel="Creating…" tone="primary" busy={busy === 'reconnect-link'} disabled={busy !== null} />
            {cancel()}
          </div>
        </Form>
      )}

      {mode === 'reconnect-link' && createdLink && (
        <div className="stacked-form" role="group" aria-label="The new reconnect link">
          <p>
            <strong>Send this link to {connection.owner.name}.</strong> It is shown only now, works once, and expires {dateTime(createdLink.expiresAt)}.
          </p>
          <CopyField label="Reconnect link" value={createdLink.url} />
          <div className="actions">
            <ActionButton label="Done" tone="secondary" action="reconnect-link-done" onClick={() => { setCreatedLink(null); setMode('idle'); }} />
          </div>
        </div>
      )}

      {showLinks && (links.data?.connection?.reconnectLinks?.length ?? 0) > 0 && (
        <div className="reconnect-links" data-reconnect-links>
          <h3 className="small label">Reconnect links waiting for {connection.owner.name}</h3>
          <ul>
            {links.data!.connection!.reconnectLinks!.map((link) => (
              <li key={link.id}>
                <span>
                  Asked by {link.createdBy?.name ?? 'a former user'} {dateTime(link.createdAt)}; expires {dateTime(link.expiresAt)}.
                </span>{' '}
                <ActionButton
                  label="Withdraw"
                  busyLabel="Withdrawing…"
                  tone="danger-quiet"
                  action="revoke-reconnect-link"
                  busy={busy === `revoke-link-${link.id}`}
                  disabled={busy !== null}
                  onClick={() => onRevokeLink(link.id)}
                />
              </li>
            ))}
          </ul>
        </div>
      )}

      {(mode === 'confirm-revoke' || mode === 'confirm-delete') && (
        <div className="confirm" role="group" aria-label={mode === 'confirm-revoke' ? 'Confirm revoking' : 'Confirm deleting'}>
          <span>
            {mode === 'confirm-revoke'
              ? `Revoke ${whose ?? 'it'}? Its credentials are wiped and its data sources stop refreshing.`
              : `Delete ${whose ?? 'it'}? This cannot be undone; its history stays in the audit trail.`}
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
          {cancel(true)}
        </div>
      )}

      {outcome && <OutcomeNotice key={outcomeKey} outcome={outcome} focus onDismiss={() => { setOutcome(null); setMode('idle'); }} />}
    </div>
  );
}

/** A read-only value with a Copy button (a link, a callback URL), selected on focus. */
export function CopyField({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const id = useId();
  return (
    <div className="field copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="copy-row">
        <input id={id} readOnly value={value} onFocus={(event) => event.target.select()} data-copy-value />
        <button
          type="button"
          className="button button-small button-secondary"
          data-action="copy"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(value);
              setCopied('yes');
            } catch {
              setCopied('no');
            }
          }}
        >
          Copy
        </button>
      </div>
      <span className="muted small" role="status">
        {copied === 'yes' ? 'Copied.' : copied === 'no' ? 'Copying is not allowed here: select the text and copy it.' : ''}
      </span>
    </div>
  );
}
