ALTER TYPE "notification_kind" ADD VALUE 'REAUTHORIZATION_DUE';--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "deadline" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "read_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ALTER COLUMN "event_id" DROP NOT NULL;--> statement-breakpoint
DROP INDEX "notifications_recipient_id_idx";--> statement-breakpoint
CREATE INDEX "notifications_recipient_id_idx" ON "notifications" ("recipient_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_deadline_recipient_key" ON "notifications" ("connection_id","deadline","recipient_id");