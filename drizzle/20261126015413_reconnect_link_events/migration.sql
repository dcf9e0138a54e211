ALTER TYPE "connection_event_kind" ADD VALUE 'RECONNECT_LINK_CREATED';--> statement-breakpoint
ALTER TYPE "connection_event_kind" ADD VALUE 'RECONNECT_LINK_REVOKED';