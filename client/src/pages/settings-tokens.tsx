/**
 * Settings › API tokens: create one (its secret shown once), the list (name, kind, created, last
 * used; whose it is for admins, who see every token of the account), and Revoke after a
 * confirmation. SERVICE tokens are for partner workers and only admins create them.
 */
import { useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Form } from '../components/credential-form';
import { useInlineActions } from '../components/inline-actions';
import { SecretOnce } from '../components/secret-once';
import { LoadError, OutcomeNotice, outcomeOf, Pill, Skeleton, TimeAgo, type Outcome } from '../components/ui';
import { ApiTokensQuery, CreateApiTokenMutation, RevokeApiTokenMutation, type ApiTokenKind, type ApiTokenRow } from '../documents';
import { focusPageHeading } from '../page';
import { Section } from './settings';

export function TokensTab({ admin }: { admin: boolean }) {
  const [result, reexecute] = useQuery({ query: ApiTokensQuery });
  const refresh = () => reexecute({ requestPolicy: 'network-only' });
  const viewer = result.data?.viewer;
  const tokens = viewer && (viewer.account.apiTokens?.nodes ?? viewer.apiTokens.nodes);
  const ids = useId();
  return (
    <>
      <Section id={`${ids}-new`} title="New token" description="A token signs a script or a partner’s worker in to the API as you (USER) or, for admins, as a SERVICE worker.">
        <CreateTokenForm admin={admin} onCreated={refresh} />
      </Section>
      <Section id={`${ids}-list`} title={admin ? 'Every token in the account' : 'Your tokens'}>
        {result.error && !viewer && <LoadError error={result.error} retry={refresh} />}
        {!viewer && !result.error && <Skeleton rows={3} />}
        {tokens && tokens.length === 0 && <p className="muted">No tokens yet.</p>}
        {tokens && tokens.length > 0 && (
          <ul className="settings-list" aria-label="API tokens">
            {tokens.map((token) => (
              <TokenRow key={token.id} token={token} showOwner={admin} onRevoked={refresh} />
            ))}
          </ul>
        )}
      </Section>
    </>
  );
}

function CreateTokenForm({ admin, onCreated }: { admin: boolean; onCreated: () => void }) {
  const [, create] = useMutation(CreateApiTokenMutation);
  const ids = useId();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<ApiTokenKind>('USER');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  // The secret lives here only: never in the cache, gone when dismissed or on reload.
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);

  async function submit() {
    setBusy(true);
    setOutcome(null);
    setSecret(null);
    try {
      const { value, failure } = outcomeOf<{ __typename: string; payload: { token: string; apiToken: ApiTokenRow } }>(
        await create({ input: { name: name.trim(), ...(admin ? { kind } : {}) } }),
        'createApiToken',
      );
      if (failure) {
        setOutcome(failure);
        return;
      }
      setSecret({ name: value!.payload.apiToken.name, token: value!.payload.token });
      setName('');
      onCreated();
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      {secret && (
        <SecretOnce
          title={`Token “${secret.name}” created`}
          secret={secret.token}
          hint='Send it as "Authorization: Bearer <token>".'
          onDone={() => {
            setSecret(null);
            document.getElementById(`${ids}-name`)?.focus();
          }}
        />
      )}
      <Form className="panel stacked-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor={`${ids}-name`}>Token name</label>
          <input id={`${ids}-name`} value={name} required maxLength={120} onChange={(event) => setName(event.target.value)} aria-describedby={`${ids}-name-hint`} />
          <p className="hint" id={`${ids}-name-hint`}>
            What it is for, e.g. “Nightly sync”.
          </p>
        </div>
        {admin && (
          <div className="field">
            <label htmlFor={`${ids}-kind`}>Kind</label>
            <select id={`${ids}-kind`} value={kind} onChange={(event) => setKind(event.target.value as ApiTokenKind)}>
              <option value="USER">User: acts as you, with your role</option>
              <option value="SERVICE">Service: a partner worker (every connection, access tokens)</option>
            </select>
          </div>
        )}
        {outcome && <OutcomeNotice outcome={outcome} onDismiss={() => setOutcome(null)} focus />}
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={busy || !name.trim()}>
            {busy ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </Form>
    </>
  );
}

function TokenRow({ token, showOwner, onRevoked }: { token: ApiTokenRow; showOwner: boolean; onRevoked: () => void }) {
  const [, revoke] = useMutation(RevokeApiTokenMutation);
  const actions = useInlineActions<'revoke'>({ clearOutcomeOnOpen: true, fallbackFocus: focusPageHeading });
  const revoked = Boolean(token.revokedAt);

  const confirmRevoke = () =>
    actions.perform('revoke', async () => {
      const { failure } = outcomeOf(await revoke({ id: token.id }), 'revokeApiToken');
      actions.setMode('idle');
      if (failure) return failure;
      onRevoked();
      return { kind: 'notice', tone: 'success', title: `“${token.name}” is revoked`, body: <p>Anything using it is refused from now on.</p> };
    });

  return (
    <li className="settings-row settings-row-stacked" data-token={token.name}>
      <div className="settings-row-line" ref={actions.root} onKeyDown={actions.onKeyDown}>
        <div className="settings-row-main">
          <span className="settings-row-title">{token.name}</span>
          <span className="muted small">
            <code>{token.prefix}…</code>
            {showOwner && <> · {token.user.name}</>}
            {' · created '}
            <TimeAgo iso={token.createdAt} />
            {' · last used '}
            <TimeAgo iso={token.lastUsedAt} />
          </span>
        </div>
        <Pill tone={token.kind === 'SERVICE' ? 'accent' : 'neutral'}>{token.kind === 'SERVICE' ? 'Service' : 'User'}</Pill>
        {revoked ? (
          <Pill tone="bad">
            Revoked{" "}<TimeAgo iso={token.revokedAt} />
          </Pill>
        ) : (
          actions.mode === 'idle' && (
            <div className="actions">
              <button type="button" className="button button-small button-danger-quiet" data-action="revoke" aria-label={`Revoke ${token.name}`} onClick={() => actions.setMode('revoke', 'revoke')}>
                Revoke
              </button>
            </div>
          )
        )}
      </div>
      {actions.mode === 'revoke' && !revoked && (
        <div className="confirm" role="group" aria-label={`Revoke ${token.name}`} onKeyDown={actions.onKeyDown}>
          <p>
            Revoke “{token.name}”{showOwner ? ` (${token.user.name}’s)` : ''}? Everything using it is refused at once; this cannot be undone.
          </p>
          <div className="actions">
            <button type="button" className="button button-small button-danger" autoFocus disabled={actions.busy !== null} onClick={confirmRevoke}>
              {actions.busy ? 'Revoking…' : 'Revoke token'}
            </button>
            <button type="button" className="button button-small button-ghost" onClick={() => actions.setMode('idle')}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {actions.outcome && <OutcomeNotice key={actions.outcomeKey} outcome={actions.outcome} onDismiss={() => actions.setOutcome(null)} focus />}
    </li>
  );
}
