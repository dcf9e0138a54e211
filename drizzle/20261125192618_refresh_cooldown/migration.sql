ALTER TYPE "token_refresh_outcome" ADD VALUE 'LOST';--> statement-breakpoint
ALTER TYPE "token_refresh_outcome" ADD VALUE 'ABANDONED';--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "refresh_blocked_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "refresh_failures" integer DEFAULT 0 NOT NULL;