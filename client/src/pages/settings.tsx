/**
 * Settings: the account's integrations (OAuth apps and custom integrations), API tokens, webhook
 * endpoints and people, one tab each at its own address (`/settings/<tab>`). Admins manage; others
 * see what they may use, read-only where they may not change it.
 */
import { useId, useState, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link } from 'wouter';
import { Form } from '../components/credential-form';
import { EmptyState, LoadError, Notice, OutcomeNotice, outcomeOf, Pill, Skeleton, TimeAgo, type Outcome } from '../components/ui';
import {
  AccountPeopleQuery,
  RegisterIntegrationMutation,
  SettingsIntegrationsQuery,
  ViewerQuery,
  type RegisterIntegrationInput,
  type SettingsIntegration,
} from '../documents';
import { AUTH_METHOD_LABELS, plural, signsInAtService, words } from '../format';
import { PageHeading } from '../page';
import { TokensTab } from './settings-tokens';
import { WebhooksTab } from './settings-webhooks';

export const SETTINGS_TABS = [
  { key: 'integrations', label: 'Integrations' },
  { key: 'tokens', label: 'API tokens' },
  { key: 'webhooks', label: 'Webhooks' },
  { key: 'people', label: 'People' },
] as const;

export type SettingsTab = (typeof SETTINGS_TABS)[number]['key'];

/** Whether the signed-in person manages the account (an admin or its owner). */
export function useIsAdmin(): boolean | null {
  const [viewer] = useQuery({ query: ViewerQuery });
  const user = viewer.data?.viewer.user;
  if (!user) return null;
  return user.role === 'ADMIN' || user.isOwner;
}

export function SettingsPage({ tab }: { tab: string }) {
  const current = SETTINGS_TABS.find((candidate) => candidate.key === tab);
  const admin = useIsAdmin();
  if (!current) {
    return (
      <EmptyState page title="Page not found" action={<Link href="/settings/integrations" className="button button-secondary">Go to settings</Link>}>
        Settings has no “{tab}” tab.
      </EmptyState>
    );
  }
  return (
    <div className="page settings">
      <header className="page-header">
        <div>
          <div className="detail-kicker">Settings</div>
          <PageHeading title={`${current.label} · Settings`}>{current.label}</PageHeading>
          {admin === false && <p className="muted">You see what you may use; an admin manages the rest.</p>}
        </div>
      </header>
      <nav className="settings-tabs" aria-label="Settings">
        {SETTINGS_TABS.map((candidate) => (
          <Link
            key={candidate.key}
            href={`/settings/${candidate.key}`}
            className={candidate.key === current.key ? 'settings-tab settings-tab-current' : 'settings-tab'}
            aria-current={candidate.key === current.key ? 'page' : undefined}
          >
            {candidate.label}
          </Link>
        ))}
      </nav>
      {admin === null ? (
        <Skeleton rows={3} />
      ) : current.key === 'integrations' ? (
        <IntegrationsTab admin={admin} />
      ) : current.key === 'tokens' ? (
        <TokensTab admin={admin} />
      ) : current.key === 'webhooks' ? (
        <WebhooksTab admin={admin} />
      ) : (
        <PeopleTab />
      )}
    </div>
  );
}

/** A titled section of a settings tab. */
export function Section({ title, description, children, id }: { title: string; description?: ReactNode; children: ReactNode; id?: string }) {
  return (
    <section className="settings-section" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {description && <p className="muted">{description}</p>}
      {children}
    </section>
  );
}

function IntegrationsTab({ admin }: { admin: boolean }) {
  const [result, reexecute] = useQuery({ query: SettingsIntegrationsQuery });
  const ids = useId();
  const integrations = result.data?.integrations.nodes;
  const oauth = integrations?.filter((integration) => !integration.isCustom && signsInAtService(integration.authMethod));
  const custom = integrations?.filter((integration) => integration.isCustom);
  return (
    <>
      {result.error && !integrations && <LoadError error={result.error} retry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!integrations && !result.error && <Skeleton rows={4} />}
      {oauth && (
        <Section
          id={`${ids}-oauth`}
          title="OAuth apps"
          description={
            admin
              ? 'Services people sign in at need your account’s app there (client id and secret). Configure one to let everyone connect.'
              : 'Services people sign in at need an app an admin configures. Those marked “Not configured” cannot be connected yet.'
          }
        >
          <ul className="settings-list" aria-label="OAuth integrations">
            {oauth.map((integration) => (
              <OAuthIntegrationRow key={integration.key} integration={integration} admin={admin} />
            ))}
          </ul>
        </Section>
      )}
      {custom && (
        <Section id={`${ids}-custom`} title="Custom integrations" description="Services your account registered itself, by an OAuth issuer URL or by their endpoints.">
          {custom.length === 0 ? (
            <p className="muted">None yet.</p>
          ) : (
            <ul className="settings-list" aria-label="Custom integrations">
              {custom.map((integration) => (
                <li key={integration.key} className="settings-row" data-integration={integration.key}>
                  <div className="settings-row-main">
                    <span className="settings-row-title">{integration.name}</span>
                    <span className="muted small">
                      {integration.key} · {AUTH_METHOD_LABELS[integration.authMethod]}
                    </span>
                  </div>
                  <Link href={`/connect/${encodeURIComponent(integration.key)}`} className="button button-small button-secondary">
                    Connect
                  </Link>
                </li>
              ))}
            </ul>
          )}
          {admin && <RegisterIntegrationForm onRegistered={() => reexecute({ requestPolicy: 'network-only' })} />}
        </Section>
      )}
    </>
  );
}

function OAuthIntegrationRow({ integration, admin }: { integration: SettingsIntegration; admin: boolean }) {
  const configured = Boolean(integration.oauthClientId);
  // A client id without an app of the account's own is the operator's default app (environment).
  const operators = configured && !integration.oauthAppConfigured;
  return (
    <li className="settings-row" data-integration={integration.key}>
      <div className="settings-row-main">
        <span className="settings-row-title">{integration.name}</span>
        <span className="muted small">
          {AUTH_METHOD_LABELS[integration.authMethod]}
          {configured && (
            <>
              {' · client id '}
              <code className="break">{integration.oauthClientId}</code>
            </>
          )}
        </span>
      </div>
      <Pill tone={configured ? 'good' : 'warn'}>{operators ? 'Operator’s default app' : configured ? 'Configured' : 'Not configured'}</Pill>
      <Link
        href={`/settings/integrations/${encodeURIComponent(integration.key)}`}
        className="button button-small button-secondary"
        aria-label={`${admin ? (configured ? 'Change' : 'Configure') : 'View'} the ${integration.name} app`}
      >
        {admin ? (configured ? 'Change' : 'Configure') : 'View'}
      </Link>
    </li>
  );
}

function RegisterIntegrationForm({ onRegistered }: { onRegistered: () => void }) {
  const [, register] = useMutation(RegisterIntegrationMutation);
  const ids = useId();
  const [by, setBy] = useState<'issuer' | 'endpoints'>('issuer');
  const [values, setValues] = useState({ key: '', name: '', description: '', issuerUrl: '', authorizeUrl: '', tokenUrl: '', revokeUrl: '', verifyUrl: '', scopes: '' });
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const set = (key: keyof typeof values) => (event: { target: { value: string } }) => setValues({ ...values, [key]: event.target.value });
  const optional = (text: string) => (text.trim() ? text.trim() : undefined);

  async function submit() {
    setBusy(true);
    setOutcome(null);
    setInvalid(null);
    const input: RegisterIntegrationInput = {
      key: values.key.trim(),
      name: values.name.trim(),
      authMethod: 'OAUTH2',
      description: optional(values.description),
      scopes: words(values.scopes).length ? words(values.scopes) : undefined,
      ...(by === 'issuer'
        ? { issuerUrl: values.issuerUrl.trim() }
        : { authorizeUrl: values.authorizeUrl.trim(), tokenUrl: values.tokenUrl.trim(), revokeUrl: optional(values.revokeUrl), verifyUrl: optional(values.verifyUrl) }),
    };
    try {
      const { value, failure } = outcomeOf<{ __typename: string; integration: SettingsIntegration }>(await register({ input }), 'registerIntegration');
      if (failure) {
        if (failure.kind === 'error') setInvalid(failure.error.field ?? null);
        setOutcome(failure);
        return;
      }
      setOutcome({ kind: 'notice', tone: 'success', title: `${value!.integration.name} is registered`, body: <p>Configure its OAuth app, then anyone in the account can connect it.</p> });
      setValues({ key: '', name: '', description: '', issuerUrl: '', authorizeUrl: '', tokenUrl: '', revokeUrl: '', verifyUrl: '', scopes: '' });
      onRegistered();
    } finally {
      setBusy(false);
    }
  }

  const field = (key: keyof typeof values, label: string, options: { required?: boolean; hint?: string; type?: string } = {}) => (
    <div className="field">
      <label htmlFor={`${ids}-${key}`}>
        {label}
        {!options.required && <span className="muted"> (optional)</span>}
      </label>
      <input
        id={`${ids}-${key}`}
        name={key}
        type={options.type ?? 'text'}
        required={options.required}
        spellCheck={false}
        aria-invalid={invalid === key || undefined}
        aria-describedby={options.hint ? `${ids}-${key}-hint` : undefined}
        value={values[key]}
        onChange={set(key)}
      />
      {options.hint && (
        <p className="hint" id={`${ids}-${key}-hint`}>
          {options.hint}
        </p>
      )}
    </div>
  );

  return (
    <Form className="panel stacked-form" onSubmit={submit}>
      <h3>Register an OAuth 2.0 service</h3>
      {field('name', 'Name', { required: true })}
      {field('key', 'Key', { required: true, hint: 'kebab-case, unique in your account, e.g. “acme-crm”.' })}
      {field('description', 'Description')}
      <fieldset className="settings-choice">
        <legend>Find its endpoints</legend>
        <label className="checkbox">
          <input type="radio" name={`${ids}-by`} checked={by === 'issuer'} onChange={() => setBy('issuer')} />
          By issuer URL (discovery)
        </label>
        <label className="checkbox">
          <input type="radio" name={`${ids}-by`} checked={by === 'endpoints'} onChange={() => setBy('endpoints')} />
          By its endpoints
        </label>
      </fieldset>
      {by === 'issuer' ? (
        field('issuerUrl', 'Issuer URL', { required: true, type: 'url', hint: 'Its discovery document supplies the endpoints and enables the `iss` check.' })
      ) : (
        <>
          {field('authorizeUrl', 'Authorization endpoint', { required: true, type: 'url' })}
          {field('tokenUrl', 'Token endpoint', { required: true, type: 'url' })}
          {field('revokeUrl', 'Revocation endpoint', { type: 'url' })}
          {field('verifyUrl', 'Test call (an authenticated GET)', { type: 'url' })}
        </>
      )}
      {field('scopes', 'Scopes', { hint: 'Separated by spaces or commas.' })}
      {outcome && <OutcomeNotice outcome={outcome} onDismiss={() => setOutcome(null)} focus />}
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? 'Registering…' : 'Register'}
        </button>
      </div>
    </Form>
  );
}

const ROLE_LABELS = { MEMBER: 'Member', EDITOR: 'Editor', ADMIN: 'Admin' } as const;

function PeopleTab() {
  const [result, reexecute] = useQuery({ query: AccountPeopleQuery });
  const users = result.data?.viewer.account.users;
  return (
    <>
      {result.error && !users && <LoadError error={result.error} retry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!users && !result.error && <Skeleton rows={3} />}
      {users && (
        <Section title="People" description={`${plural(users.totalCount, 'person', 'people')} in the account. Roles are changed by the account’s operators.`}>
          <ul className="settings-list" aria-label="People">
            {users.nodes.map((user) => (
              <li key={user.id} className="settings-row" data-user={user.email}>
                <div className="settings-row-main">
                  <span className="settings-row-title">{user.name}</span>
                  <span className="muted small break">{user.email}</span>
                </div>
                <span className="muted small">
                  added <TimeAgo iso={user.createdAt} />
                </span>
                <Pill tone={user.role === 'ADMIN' ? 'accent' : 'neutral'}>{ROLE_LABELS[user.role]}</Pill>
                {user.isOwner && <Pill tone="good">Owner</Pill>}
              </li>
            ))}
          </ul>
        </Section>
      )}
    </>
  );
}

/** Shown where only admins may act. */
export function AdminsOnly({ children }: { children: ReactNode }) {
  return (
    <Notice tone="info" title="Only admins change this">
      <p>{children}</p>
    </Notice>
  );
}
