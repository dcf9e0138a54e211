/**
 * One connection event in words, with who did it ("Pam renamed it from A to B"): the connection
 * page's history and the audit page say changes the same way.
 */
import type { ReactNode } from 'react';
import type { ActorKind, ConnectionEventDetails, ConnectionEventKind, ConnectionStatus, DisconnectReason } from '../documents';
import { ACTOR_LABELS, REASON_LABELS, STATUS_LABELS } from '../format';

interface EventFacts {
  kind: ConnectionEventKind;
  details: ConnectionEventDetails | null;
  fromStatus: ConnectionStatus | null;
  toStatus: ConnectionStatus;
  reason: DisconnectReason | null;
  actorKind: ActorKind;
  actor: { name: string } | null;
}

/** The actor as a sentence starts with it: a person's name, or who else acted. */
export function actorName(event: Pick<EventFacts, 'actor' | 'actorKind'>): string {
  return event.actor?.name ?? ACTOR_LABELS[event.actorKind];
}

/** What happened to `subject` ("it" on its own page, its name on the audit page), after the actor's name. */
export function EventSentence({ event, subject = 'it' }: { event: EventFacts; subject?: ReactNode }) {
  const who = <strong>{actorName(event)}</strong>;
  const d = event.details;
  const source = d?.dataSourceName ? <>data source “{d.dataSourceName}”</> : <>a data source</>;
  const status = (
    <>
      {event.fromStatus ? <>{STATUS_LABELS[event.fromStatus]} → </> : null}
      <strong>{STATUS_LABELS[event.toStatus]}</strong>
      {event.reason && <span className="muted"> · {REASON_LABELS[event.reason]}</span>}
    </>
  );
  switch (event.kind) {
    case 'CREATED':
      return <>{who} created {subject} ({STATUS_LABELS[event.toStatus]})</>;
    case 'RENAMED':
      return d?.previousName != null ? (
        <>{who} renamed {subject} from “{d.previousName}” to “{d.name}”</>
      ) : (
        <>{who} renamed {subject}</>
      );
    case 'SHARED':
      return <>{who} shared {subject} with the account</>;
    case 'UNSHARED':
      return <>{who} made {subject} private</>;
    case 'REAUTHENTICATED':
      return <>{who} reauthenticated {subject}{event.fromStatus !== event.toStatus ? <> · {status}</> : null}</>;
    case 'REVOKED':
      return <>{who} revoked {subject}</>;
    case 'DELETED':
      return <>{who} deleted {subject}</>;
    case 'DATA_SOURCE_ADDED':
      return <>{who} added {source}</>;
    case 'DATA_SOURCE_REMOVED':
      return <>{who} deleted {source}</>;
    case 'RECONNECT_LINK_CREATED':
      return <>{who} made a reconnect link for the owner of {subject}</>;
    case 'RECONNECT_LINK_REVOKED':
      return <>{who} withdrew a reconnect link for {subject}</>;
    case 'DATA_SOURCE_MOVED':
      return d?.fromConnectionName != null ? (
        <>{who} moved {source} from “{d.fromConnectionName}” to “{d.toConnectionName}”</>
      ) : (
        <>{who} moved {source}</>
      );
    default:
      return status;
  }
}
