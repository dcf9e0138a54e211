/** ConnectionEvent: one status change of a connection (history and audit). */
import { builder } from './builder.js';
import { ConnectionStatusEnum, DisconnectReasonEnum } from './connection-status.js';

const ActorKindEnum = builder.enumType('ActorKind', {
  description: 'Who caused a change.',
  values: {
    USER: { description: 'A person, through the API or dashboard.' },
    SERVICE: { description: 'A partner worker with a SERVICE token.' },
    SYSTEM: { description: 'Patchbay itself: a refresh, a health check, a superseding connection.' },
  },
});

builder.drizzleNode('connectionEvents', {
  name: 'ConnectionEvent',
  description: 'A status change of a connection.',
  id: { column: (event) => event.id },
  fields: (t) => ({
    fromStatus: t.expose('fromStatus', {
      type: ConnectionStatusEnum,
      nullable: true,
      description: 'The status before; null for the creation event.',
    }),
    toStatus: t.expose('toStatus', { type: ConnectionStatusEnum, description: 'The status after.' }),
    reason: t.expose('reason', { type: DisconnectReasonEnum, nullable: true, description: 'Why, for DISCONNECTED.' }),
    message: t.exposeString('message', { nullable: true, description: 'Details, e.g. the service’s error message.' }),
    actorKind: t.expose('actorKind', { type: ActorKindEnum, description: 'Who caused it.' }),
    actor: t.relation('actor', { nullable: true, description: 'The user who caused it, if a user did.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it happened.' }),
    connection: t.relation('connection', { description: 'The connection that changed.' }),
  }),
});
