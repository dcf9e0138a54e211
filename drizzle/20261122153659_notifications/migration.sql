CREATE TYPE "notification_kind" AS ENUM('CONNECTION_DISCONNECTED');--> statement-breakpoint
CREATE TYPE "notification_status" AS ENUM('PENDING', 'SENT', 'FAILED');--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"recipient_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	"kind" "notification_kind" NOT NULL,
	"status" "notification_status" DEFAULT 'PENDING'::"notification_status" NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_event_recipient_key" ON "notifications" ("event_id","recipient_id");--> statement-breakpoint
CREATE INDEX "notifications_pending_idx" ON "notifications" ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "notifications_recipient_id_idx" ON "notifications" ("recipient_id","created_at");--> statement-breakpoint
CREATE INDEX "notifications_connection_id_idx" ON "notifications" ("connection_id");--> statement-breakpoint
CREATE INDEX "notifications_account_id_idx" ON "notifications" ("account_id");--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_recipient_id_users_id_fkey" FOREIGN KEY ("recipient_id") REFERENCES "users"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_connection_id_connections_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_event_id_connection_events_id_fkey" FOREIGN KEY ("event_id") REFERENCES "connection_events"("id") ON DELETE CASCADE;