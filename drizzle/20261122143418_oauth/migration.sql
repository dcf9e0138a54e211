CREATE TABLE "oauth_apps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"integration_key" text NOT NULL,
	"client_id" text NOT NULL,
	"key_id" text NOT NULL,
	"ciphertext" bytea NOT NULL,
	"configured_by_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "oauth_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"state_hash" text NOT NULL,
	"key_id" text NOT NULL,
	"ciphertext" bytea NOT NULL,
	"return_to" text,
	"created_by_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "oauth_apps_account_integration_key" ON "oauth_apps" ("account_id","integration_key");--> statement-breakpoint
CREATE INDEX "oauth_apps_configured_by_id_idx" ON "oauth_apps" ("configured_by_id");--> statement-breakpoint
CREATE UNIQUE INDEX "oauth_attempts_state_hash_key" ON "oauth_attempts" ("state_hash");--> statement-breakpoint
CREATE INDEX "oauth_attempts_connection_id_idx" ON "oauth_attempts" ("connection_id");--> statement-breakpoint
CREATE INDEX "oauth_attempts_created_by_id_idx" ON "oauth_attempts" ("created_by_id");--> statement-breakpoint
CREATE INDEX "oauth_attempts_account_id_idx" ON "oauth_attempts" ("account_id");--> statement-breakpoint
ALTER TABLE "oauth_apps" ADD CONSTRAINT "oauth_apps_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "oauth_apps" ADD CONSTRAINT "oauth_apps_configured_by_id_users_id_fkey" FOREIGN KEY ("configured_by_id") REFERENCES "users"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "oauth_attempts" ADD CONSTRAINT "oauth_attempts_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "oauth_attempts" ADD CONSTRAINT "oauth_attempts_connection_id_connections_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "oauth_attempts" ADD CONSTRAINT "oauth_attempts_created_by_id_users_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL;