CREATE TABLE "reconnect_links" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"created_by_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"revoked_by_id" uuid
);
--> statement-breakpoint
CREATE UNIQUE INDEX "reconnect_links_token_hash_key" ON "reconnect_links" ("token_hash");--> statement-breakpoint
CREATE INDEX "reconnect_links_connection_id_idx" ON "reconnect_links" ("connection_id");--> statement-breakpoint
CREATE INDEX "reconnect_links_account_id_idx" ON "reconnect_links" ("account_id");--> statement-breakpoint
CREATE INDEX "reconnect_links_created_by_id_idx" ON "reconnect_links" ("created_by_id");--> statement-breakpoint
CREATE INDEX "reconnect_links_revoked_by_id_idx" ON "reconnect_links" ("revoked_by_id");--> statement-breakpoint
ALTER TABLE "reconnect_links" ADD CONSTRAINT "reconnect_links_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "reconnect_links" ADD CONSTRAINT "reconnect_links_connection_id_connections_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "reconnect_links" ADD CONSTRAINT "reconnect_links_created_by_id_users_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "reconnect_links" ADD CONSTRAINT "reconnect_links_revoked_by_id_users_id_fkey" FOREIGN KEY ("revoked_by_id") REFERENCES "users"("id") ON DELETE SET NULL;