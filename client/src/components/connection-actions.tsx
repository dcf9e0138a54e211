/**
 * What a person can do with a connection, shown only when `viewerCan` allows them and the status
 * makes sense of them: test (not while PENDING or REVOKED), reauthenticate, revoke (not once
 * REVOKED), rename, share or unshare, delete. In a list the common ones are buttons and the rest sit
 * in a "More" menu; on the connection's page all are buttons. Each answers in place with the
 * outcome or the typed error the gateway returned, and the focus follows: into a form or a
 * confirmation when it opens, back to what opened it on Cancel or Escape, onto the outcome after.
 */
import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import {
  ViewerQuery,
  DeleteConnectionMutation,
  IntegrationQuery,
  ReauthenticateConnectionMutation,
  RevokeConnectionMutation,
  TestConnectionMutation,
  UpdateConnectionMutation,
  type ConnectionSummary,
} from '../documents';
import { plural, signsInAtService } from '../format';
import { CredentialFields, filledCredentials, Form } from './credential-form';
import { MenuButton, type MenuHandle, type MenuItem } from './menu';
import { useInlineActions } from './inline-actions';
import { OutcomeNotice, outcomeOf } from './ui';

type Mode = 'rename' | 'reauthenticate' | 'confirm-revoke' | 'confirm-delete';

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

  const [, test] = useMutation(TestConnectionMutation);
  const [, reauthenticate] = useMutation(ReauthenticateConnectionMutation);
  const [, revoke] = useMutation(RevokeConnectionMutation);
  const [, update] = useMutation(UpdateConnectionMutation);
  const [, remove] = useMutation(DeleteConnectionMutation);
  const oauth = signsInAtService(connection.integration.authMethod);
  // The credential fields are only needed once someone opens the reauthentication form.
  const [integration] = useQuery({ query: IntegrationQuery, variables: { key: connection.integration.key }, pause: mode !== 'reauthenticate' || oauth });


  // The reauthentication form's first field takes the focus once its fields are read.
  const fieldsLoaded = Boolean(integration.data?.integration);
  useEffect(() => {
    if (mode === 'reauthenticate' && fieldsLoaded) root.current?.querySelector<HTMLElement>('.stacked-form input')?.focus();
  }, [mode, fieldsLoaded]);


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
