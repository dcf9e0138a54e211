CREATE TYPE "connection_event_kind" AS ENUM('STATUS_CHANGED', 'CREATED', 'RENAMED', 'SHARED', 'UNSHARED', 'REAUTHENTICATED', 'REVOKED', 'DELETED', 'DATA_SOURCE_ADDED', 'DATA_SOURCE_MOVED', 'DATA_SOURCE_REMOVED');--> statement-breakpoint
ALTER TABLE "connection_events" DROP CONSTRAINT "connection_events_connection_id_connections_id_fkey";--> statement-breakpoint
ALTER TABLE "connection_events" ADD COLUMN "kind" "connection_event_kind" DEFAULT 'STATUS_CHANGED'::"connection_event_kind" NOT NULL;--> statement-breakpoint
ALTER TABLE "connection_events" ADD COLUMN "details" jsonb;--> statement-breakpoint
ALTER TABLE "connection_events" ADD COLUMN "connection_name" text;--> statement-breakpoint
ALTER TABLE "connection_events" ADD COLUMN "integration_key" text;--> statement-breakpoint
ALTER TABLE "connection_events" ADD COLUMN "connection_owner_id" uuid;--> statement-breakpoint
ALTER TABLE "connection_events" ADD COLUMN "connection_shared" boolean;--> statement-breakpoint
-- The snapshot of the connection on the events written before it was kept (hand-written backfill).
UPDATE "connection_events" AS e SET "connection_name" = c."name", "integration_key" = c."integration_key", "connection_owner_id" = c."owner_id", "connection_shared" = c."shared" FROM "connections" AS c WHERE c."id" = e."connection_id";
