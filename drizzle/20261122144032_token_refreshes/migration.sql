CREATE TYPE "token_refresh_outcome" AS ENUM('SUCCEEDED', 'FAILED', 'TRANSIENT');--> statement-breakpoint
CREATE TABLE "access_token_grants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"api_token_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "token_refreshes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"owner" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" "token_refresh_outcome",
	"error" text
);
--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "refresh_lease_owner" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "refresh_lease_until" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "access_token_grants_connection_created_idx" ON "access_token_grants" ("connection_id","created_at");--> statement-breakpoint
CREATE INDEX "access_token_grants_api_token_id_idx" ON "access_token_grants" ("api_token_id");--> statement-breakpoint
CREATE INDEX "access_token_grants_account_id_idx" ON "access_token_grants" ("account_id");--> statement-breakpoint
CREATE INDEX "token_refreshes_connection_started_idx" ON "token_refreshes" ("connection_id","started_at");--> statement-breakpoint
CREATE INDEX "token_refreshes_account_id_idx" ON "token_refreshes" ("account_id");--> statement-breakpoint
ALTER TABLE "access_token_grants" ADD CONSTRAINT "access_token_grants_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "access_token_grants" ADD CONSTRAINT "access_token_grants_connection_id_connections_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "access_token_grants" ADD CONSTRAINT "access_token_grants_api_token_id_api_tokens_id_fkey" FOREIGN KEY ("api_token_id") REFERENCES "api_tokens"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "token_refreshes" ADD CONSTRAINT "token_refreshes_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "token_refreshes" ADD CONSTRAINT "token_refreshes_connection_id_connections_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE;