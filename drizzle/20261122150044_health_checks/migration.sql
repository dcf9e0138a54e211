ALTER TABLE "connections" ADD COLUMN "next_check_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "transient_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "connections_next_check_idx" ON "connections" ("status","next_check_at");--> statement-breakpoint
CREATE INDEX "connections_access_token_expiry_idx" ON "connections" ("status","access_token_expires_at");