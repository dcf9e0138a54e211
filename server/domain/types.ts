/** Row and enum types inferred from the drizzle schema, named in the domain's words. */
import type * as schema from '../db/schema.js';

export type UserRole = (typeof schema.userRole.enumValues)[number];
export type ApiTokenKind = (typeof schema.apiTokenKind.enumValues)[number];
export type ConnectionStatus = (typeof schema.connectionStatus.enumValues)[number];
export type DisconnectReason = (typeof schema.disconnectReason.enumValues)[number];
export type DataSourceStatus = (typeof schema.dataSourceStatus.enumValues)[number];
export type RefreshRunStatus = (typeof schema.refreshRunStatus.enumValues)[number];
export type ActorKind = (typeof schema.actorKind.enumValues)[number];

export type AccountRow = typeof schema.accounts.$inferSelect;
export type UserRow = typeof schema.users.$inferSelect;
export type ApiTokenRow = typeof schema.apiTokens.$inferSelect;
export type ConnectionRow = typeof schema.connections.$inferSelect;
export type DataSourceRow = typeof schema.dataSources.$inferSelect;
export type RefreshRunRow = typeof schema.refreshRuns.$inferSelect;
export type ConnectionEventRow = typeof schema.connectionEvents.$inferSelect;
export type CustomIntegrationRow = typeof schema.integrations.$inferSelect;
