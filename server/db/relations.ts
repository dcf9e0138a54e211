/** Relations for drizzle's relational queries (v2) and the Pothos drizzle plugin's planning. */
import { defineRelations } from 'drizzle-orm';
import * as schema from './schema.js';

export const relations = defineRelations(schema, (r) => ({
  accounts: {
    users: r.many.users({ from: r.accounts.id, to: r.users.accountId }),
    connections: r.many.connections({ from: r.accounts.id, to: r.connections.accountId }),
    integrations: r.many.integrations({ from: r.accounts.id, to: r.integrations.accountId }),
    apiTokens: r.many.apiTokens({ from: r.accounts.id, to: r.apiTokens.accountId }),
    webhookEndpoints: r.many.webhookEndpoints({ from: r.accounts.id, to: r.webhookEndpoints.accountId }),
  },
  users: {
    account: r.one.accounts({ from: r.users.accountId, to: r.accounts.id, optional: false }),
    connections: r.many.connections({ from: r.users.id, to: r.connections.ownerId }),
    apiTokens: r.many.apiTokens({ from: r.users.id, to: r.apiTokens.userId }),
  },
  apiTokens: {
    user: r.one.users({ from: r.apiTokens.userId, to: r.users.id, optional: false }),
    account: r.one.accounts({ from: r.apiTokens.accountId, to: r.accounts.id, optional: false }),
  },
  integrations: {
    account: r.one.accounts({ from: r.integrations.accountId, to: r.accounts.id, optional: false }),
    connections: r.many.connections({
      from: r.integrations.id,
      to: r.connections.customIntegrationId,
    }),
  },
  connections: {
    account: r.one.accounts({ from: r.connections.accountId, to: r.accounts.id, optional: false }),
    owner: r.one.users({ from: r.connections.ownerId, to: r.users.id, optional: false }),
    customIntegration: r.one.integrations({
      from: r.connections.customIntegrationId,
      to: r.integrations.id,
    }),
    dataSources: r.many.dataSources({ from: r.connections.id, to: r.dataSources.connectionId }),
    events: r.many.connectionEvents({
      from: r.connections.id,
      to: r.connectionEvents.connectionId,
    }),
  },
  dataSources: {
    connection: r.one.connections({
      from: r.dataSources.connectionId,
      to: r.connections.id,
      optional: false,
    }),
    refreshRuns: r.many.refreshRuns({ from: r.dataSources.id, to: r.refreshRuns.dataSourceId }),
    /** Its RUNNING run, if any (a leased one, or one a worker recorded itself). */
    runningRun: r.one.refreshRuns({
      from: r.dataSources.id,
      to: r.refreshRuns.dataSourceId,
      where: { status: 'RUNNING' },
      optional: true,
    }),
  },
  refreshRuns: {
    dataSource: r.one.dataSources({
      from: r.refreshRuns.dataSourceId,
      to: r.dataSources.id,
      optional: false,
    }),
  },
  tokenRefreshes: {
    connection: r.one.connections({ from: r.tokenRefreshes.connectionId, to: r.connections.id, optional: false }),
  },
  accessTokenGrants: {
    connection: r.one.connections({ from: r.accessTokenGrants.connectionId, to: r.connections.id, optional: false }),
  },
  notifications: {
    connection: r.one.connections({ from: r.notifications.connectionId, to: r.connections.id, optional: false }),
    recipient: r.one.users({ from: r.notifications.recipientId, to: r.users.id, optional: false }),
    event: r.one.connectionEvents({ from: r.notifications.eventId, to: r.connectionEvents.id }),
  },
  oauthApps: {
    account: r.one.accounts({ from: r.oauthApps.accountId, to: r.accounts.id, optional: false }),
  },
  oauthAttempts: {
    connection: r.one.connections({ from: r.oauthAttempts.connectionId, to: r.connections.id, optional: false }),
  },
  connectionEvents: {
    // Optional: events outlive their connection (a deleted one leaves its events, with a snapshot).
    connection: r.one.connections({
      from: r.connectionEvents.connectionId,
      to: r.connections.id,
    }),
    actor: r.one.users({ from: r.connectionEvents.actorUserId, to: r.users.id }),
  },
  webhookEndpoints: {
    account: r.one.accounts({ from: r.webhookEndpoints.accountId, to: r.accounts.id, optional: false }),
    createdBy: r.one.users({ from: r.webhookEndpoints.createdById, to: r.users.id }),
    deliveries: r.many.webhookDeliveries({ from: r.webhookEndpoints.id, to: r.webhookDeliveries.endpointId }),
    previousSecret: r.one.webhookPreviousSecrets({ from: r.webhookEndpoints.id, to: r.webhookPreviousSecrets.endpointId }),
  },
  webhookDeliveries: {
    endpoint: r.one.webhookEndpoints({ from: r.webhookDeliveries.endpointId, to: r.webhookEndpoints.id, optional: false }),
  },
}));
