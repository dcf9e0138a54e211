ALTER TYPE "refresh_run_status" ADD VALUE 'ABANDONED';--> statement-breakpoint
ALTER TABLE "data_sources" ADD COLUMN "next_refresh_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "data_sources" ADD COLUMN "refresh_run_id" uuid;--> statement-breakpoint
ALTER TABLE "data_sources" ADD COLUMN "refresh_lease_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "refresh_runs" ADD COLUMN "lease_seconds" integer;--> statement-breakpoint
CREATE INDEX "data_sources_account_next_refresh_idx" ON "data_sources" ("account_id","next_refresh_at");--> statement-breakpoint
CREATE INDEX "data_sources_refresh_lease_idx" ON "data_sources" ("refresh_lease_until");