/**
 * A secret the gateway shows exactly once (a new API token, a webhook signing secret): shown in a
 * read-only field with a Copy button, and gone for good when dismissed or when the page reloads
 * (it lives only in this component's state, never in the cache or storage).
 */
import { useEffect, useId, useRef, useState } from 'react';

export function SecretOnce({ title, secret, hint, onDone }: { title: string; secret: string; hint: string; onDone: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const id = useId();
  useEffect(() => {
    box.current?.focus();
  }, []);

  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      // No clipboard (an insecure origin, a denied permission): select it for a manual copy.
      field.current?.select();
      setCopied('no');
    }
  }

  return (
    <div
      ref={box}
      className="notice notice-success secret-once"
      role="status"
      tabIndex={-1}
      data-secret-once
      onKeyDown={(event) => {
        if (event.key === 'Escape') {
          event.preventDefault();
          onDone();
        }
      }}
    >
      <div className="notice-body">
        <strong>{title}</strong>
        <p>{hint} It is shown this once: copy it now.</p>
        <label htmlFor={id} className="sr-only">
          {title}
        </label>
        <div className="input-with-button">
          <input id={id} ref={field} readOnly value={secret} spellCheck={false} className="secret-value" onFocus={(event) => event.target.select()} />
          <button type="button" className="button button-small button-secondary" onClick={copy}>
            Copy
          </button>
        </div>
        <p className="small" aria-live="polite">
          {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'Copying was refused here: the text is selected, copy it with your keyboard.' : ''}
        </p>
        <button type="button" className="button button-small" onClick={onDone}>
          Done, I have stored it
        </button>
      </div>
    </div>
  );
}
