/**
 * The fields an integration asks for (API key, user and password, database host...), generated
 * from its `credentialFields`. Secret fields are masked and never prefilled; a field the service
 * completes (Jira's site name) shows what it appends after the input, so nobody types it twice.
 */
import { useId, type FormEvent, type ReactNode } from 'react';
import type { CredentialField } from '../documents';

interface Props {
  fields: CredentialField[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
  /** The field a ValidationError named, to mark it. */
  invalidField?: string | null;
}

export function CredentialFields({ fields, values, onChange, invalidField }: Props) {
  const id = useId();
  const input = (field: CredentialField, inputId: string, invalid: boolean, describedBy?: string) => (
    <input
      id={inputId}
      name={field.key}
      type={field.secret ? 'password' : 'text'}
      autoComplete={field.secret ? 'new-password' : 'off'}
      spellCheck={false}
      required={field.required}
      aria-invalid={invalid || undefined}
      aria-describedby={describedBy}
      value={values[field.key] ?? ''}
      onChange={(event) => onChange({ ...values, [field.key]: event.target.value })}
    />
  );
  return (
    <>
      {fields.map((field) => {
        const inputId = `${id}-${field.key}`;
        const invalid = invalidField === `credentials.${field.key}` || invalidField === field.key;
        return (
          <div className="field" key={field.key}>
            <label htmlFor={inputId}>
              {field.label}
              {!field.required && <span className="muted"> (optional)</span>}
            </label>
            {field.suffix ? (
              <div className="input-with-suffix">
                {input(field, inputId, invalid, `${inputId}-suffix`)}
                <span className="input-suffix" id={`${inputId}-suffix`}>
                  {field.suffix}
                </span>
              </div>
            ) : (
              input(field, inputId, invalid)
            )}
          </div>
        );
      })}
    </>
  );
}

/** Only the filled-in values: an empty optional field is left out rather than sent as "". */
export function filledCredentials(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== ''));
}

/** A form element that calls `onSubmit` without reloading the page. */
export function Form({ onSubmit, children, className }: { onSubmit: () => void; children: ReactNode; className?: string }) {
  return (
    <form
      className={className}
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}
