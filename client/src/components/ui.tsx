/** Small building blocks every screen uses: badges, notices, loading, empty and error states. */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { CombinedError, OperationResult } from '@urql/core';
import type { ConnectionProblem, ConnectionStatus, MutationError } from '../documents';
import { dateTime, REASON_LABELS, STATUS_LABELS, timeAgo } from '../format';
import { PageHeading } from '../page';

export function StatusBadge({ status }: { status: ConnectionStatus }) {
  return (
    <span className={`badge badge-${status.toLowerCase()}`} data-status={status}>
      <span className="badge-dot" aria-hidden="true" />
      {STATUS_LABELS[status]}
    </span>
  );
}

/** A neutral or coloured pill for secondary facts (auth method, shared, data source status). */
export function Pill({ tone = 'neutral', children }: { tone?: 'neutral' | 'good' | 'bad' | 'warn' | 'accent'; children: ReactNode }) {
  return <span className={`pill pill-${tone}`}>{children}</span>;
}

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}…
    </div>
  );
}

/** Placeholder rows while a list loads, so the page does not jump when it arrives. */
export function Skeleton({ rows = 3 }: { rows?: number }) {
  return (
    <div className="skeleton" role="status" aria-label="Loading">
      {Array.from({ length: rows }, (_, index) => (
        <div key={index} className="skeleton-row" />
      ))}
    </div>
  );
}

/** An empty list or a missing thing; `page`: it is all the page shows, so its title is the page's h1. */
export function EmptyState({ title, children, action, page = false }: { title: string; children?: ReactNode; action?: ReactNode; page?: boolean }) {
  return (
    <div className="empty">
      <div className="empty-mark" aria-hidden="true" />
      {page ? <PageHeading title={title} className="empty-title" /> : <h3>{title}</h3>}
      {children && <p>{children}</p>}
      {action}
    </div>
  );
}

/** A failed query: what happened, in words, and a way to try again. */
export function LoadError({ error, retry }: { error: CombinedError; retry?: () => void }) {
  const offline = Boolean(error.networkError) && !error.response;
  return (
    <div className="notice notice-error" role="alert">
      <strong>{offline ? 'The gateway could not be reached.' : 'This could not be loaded.'}</strong>
      <p>{offline ? 'Check your network connection; the page will work again once the gateway answers.' : error.graphQLErrors[0]?.message ?? error.message}</p>
      {retry && (
        <button type="button" className="button button-small" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/**
 * The rest of a paged list: how many are not shown yet (when known), and a button that asks for
 * the next page (`load` resolves once the cache holds it, and the list above grows). A failed page
 * says why and offers to try again.
 */
export function LoadMore({ label, remaining, load }: { label: string; remaining?: string; load: () => Promise<{ error?: CombinedError }> }) {
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<CombinedError | null>(null);
  const loadNext = async () => {
    setLoading(true);
    setError(null);
    try {
      setError((await load()).error ?? null);
    } finally {
      setLoading(false);
    }
  };
  return (
    <div className="load-more-row">
      {remaining && <span className="muted small">{remaining} not shown</span>}
      <button type="button" className="button button-small button-secondary" disabled={loading} onClick={loadNext}>
        {loading ? 'Loading…' : label}
      </button>
      {error && <LoadError error={error} retry={loadNext} />}
    </div>
  );
}

/** A message; `focus`: it answers what the reader just did, so it takes the focus when it appears. */
export function Notice({
  tone,
  title,
  children,
  onDismiss,
  focus = false,
}: {
  tone: 'success' | 'error' | 'info' | 'warn';
  title: string;
  children?: ReactNode;
  onDismiss?: () => void;
  focus?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (focus) box.current?.focus();
  }, [focus]);
  return (
    <div ref={box} className={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'} tabIndex={focus ? -1 : undefined}>
      <div className="notice-body">
        <strong>{title}</strong>
        {children}
      </div>
      {onDismiss && (
        <button type="button" className="notice-close" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      )}
    </div>
  );
}

/** A typed mutation error, with the why and what-to-do the gateway gives for rejected credentials. */
export function MutationErrorNotice({ error, onDismiss, focus }: { error: MutationError; onDismiss?: () => void; focus?: boolean }) {
  if (error.__typename === 'CredentialsRejectedError') {
    return (
      <Notice tone="error" title="The service rejected these credentials" onDismiss={onDismiss} focus={focus}>
        {error.reason && error.reason !== 'INVALID_CREDENTIALS' && <p className="label">{REASON_LABELS[error.reason]}</p>}
        <p className="quote">{error.message}</p>
        {error.interpretation && <p>{error.interpretation}</p>}
        {error.resolution && (
          <p>
            <span className="label">What to do:</span> {error.resolution}
          </p>
        )}
        <p className="muted small">Nothing was stored.</p>
      </Notice>
    );
  }
  if (error.__typename === 'ProviderUnavailableError') {
    return (
      <Notice tone="warn" title="The service could not be reached" onDismiss={onDismiss} focus={focus}>
        {error.likelyCause && <p className="label">{REASON_LABELS[error.likelyCause.reason]}</p>}
        <p>{error.message}</p>
        {error.likelyCause && <p>{error.likelyCause.interpretation}</p>}
        {error.likelyCause && (
          <p>
            <span className="label">What to do:</span> {error.likelyCause.resolution}
          </p>
        )}
        <p className="muted small">
          Nothing changed. Try again {error.retryAfterSeconds ? `in ${error.retryAfterSeconds} seconds` : 'in a moment'}.
        </p>
      </Notice>
    );
  }
  if (error.__typename === 'ConnectionInUseError') {
    return (
      <Notice tone="error" title="This connection is still in use" onDismiss={onDismiss} focus={focus}>
        <p>{error.message}</p>
        <p className="muted small">Move or delete its data sources first.</p>
      </Notice>
    );
  }
  return (
    <Notice tone="error" title={error.message} onDismiss={onDismiss} focus={focus}>
      <p className="muted small">{error.code}</p>
    </Notice>
  );
}

/** What a mutation came to, as a notice: words of ours, or the typed error the gateway returned. */
export type Outcome =
  | { kind: 'notice'; tone: 'success' | 'warn' | 'error' | 'info'; title: string; body?: ReactNode }
  | { kind: 'error'; error: MutationError };

/** The result union of a mutation field, or a transport failure turned into words. */
export function outcomeOf<T extends { __typename: string }>(
  result: OperationResult<Record<string, unknown>>,
  field: string,
): { value?: T; failure?: Outcome } {
  if (result.error) {
    const offline = Boolean(result.error.networkError);
    return {
      failure: {
        kind: 'notice',
        tone: 'error',
        title: offline ? 'The gateway could not be reached' : 'The request failed',
        body: <p>{result.error.graphQLErrors[0]?.message ?? result.error.message}</p>,
      },
    };
  }
  const value = result.data?.[field] as T | MutationError | undefined;
  if (!value) return { failure: { kind: 'notice', tone: 'error', title: 'The gateway sent no answer' } };
  if ('code' in value && 'message' in value) return { failure: { kind: 'error', error: value as MutationError } };
  return { value: value as T };
}

export function OutcomeNotice({ outcome, onDismiss, focus }: { outcome: Outcome; onDismiss?: () => void; focus?: boolean }) {
  if (outcome.kind === 'error') return <MutationErrorNotice error={outcome.error} onDismiss={onDismiss} focus={focus} />;
  return (
    <Notice tone={outcome.tone} title={outcome.title} onDismiss={onDismiss} focus={focus}>
      {outcome.body}
    </Notice>
  );
}

/** Why a connection is broken, the service's own words, and how to repair it. */
export function ProblemPanel({ problem }: { problem: ConnectionProblem }) {
  return (
    <div className="problem" data-reason={problem.reason}>
      <div className="problem-title">{REASON_LABELS[problem.reason]}</div>
      {problem.message && <p className="quote">{problem.message}</p>}
      <p>{problem.interpretation}</p>
      <p>
        <span className="label">How to fix:</span> {problem.resolution}
      </p>
    </div>
  );
}

export function TimeAgo({ iso, fallback = 'never' }: { iso: string | null; fallback?: string }) {
  if (!iso) return <span className="muted">{fallback}</span>;
  return (
    <time dateTime={iso} title={dateTime(iso)}>
      {timeAgo(iso)}
    </time>
  );
}
