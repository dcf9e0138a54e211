/** Signing in: paste an API token; the gateway says whether it is good (HTTP 401 when not). */
import { useId, useState } from 'react';
import { Form } from '../components/credential-form';
import { Notice } from '../components/ui';
import { usePageTitle } from '../page';

export type SignInFailure = 'rejected' | 'unreachable' | 'expired';

const FAILURES: Record<SignInFailure, { title: string; body: string }> = {
  rejected: {
    title: 'That token was not accepted',
    body: 'It is invalid or has been revoked. Check that you copied all of it, or create a new one.',
  },
  unreachable: {
    title: 'The gateway could not be reached',
    body: 'Check your network connection and try again.',
  },
  expired: {
    title: 'You were signed out',
    body: 'Your token was revoked or is no longer valid. Sign in with a current one.',
  },
};

export function SignInPage({ onSignIn, failure }: { onSignIn: (token: string) => Promise<void>; failure: SignInFailure | null }) {
  const [token, setToken] = useState('');
  const [reveal, setReveal] = useState(false);
  const [busy, setBusy] = useState(false);
  const id = useId();
  usePageTitle('Sign in');

  async function submit() {
    setBusy(true);
    try {
      await onSignIn(token.trim());
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="sign-in">
      <div className="sign-in-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Patchbay
        </div>
        <h1>Sign in to your dashboard</h1>
        <p className="muted">Use an API token of your account. It stays in this browser until you sign out.</p>
        <Form className="stacked-form" onSubmit={submit}>
          <div className="field">
            <label htmlFor={id}>API token</label>
            <div className="input-with-button">
              <input
                id={id}
                name="token"
                type={reveal ? 'text' : 'password'}
                autoComplete="off"
                spellCheck={false}
                placeholder="pb_…"
                required
                autoFocus
                value={token}
                onChange={(event) => setToken(event.target.value)}
              />
              <button type="button" className="button button-ghost button-small" onClick={() => setReveal(!reveal)} aria-pressed={reveal}>
                {reveal ? 'Hide' : 'Show'}
              </button>
            </div>
          </div>
          {failure && (
            <Notice tone="error" title={FAILURES[failure].title}>
              <p>{FAILURES[failure].body}</p>
            </Notice>
          )}
          <button type="submit" className="button button-primary button-block" disabled={busy || !token.trim()}>
            {busy ? 'Checking…' : 'Sign in'}
          </button>
        </Form>
        <p className="hint">
          No token yet? <code>npm start</code> prints a demo token, and <code>npm run patchbay -- tokens create</code> makes one for any user.
        </p>
      </div>
    </main>
  );
}
