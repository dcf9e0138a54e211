CREATE TABLE "grant_revocations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"connection_id" uuid,
	"integration_key" text NOT NULL,
	"key_id" text NOT NULL,
	"ciphertext" bytea NOT NULL,
	"status" "notification_status" DEFAULT 'PENDING'::"notification_status" NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "grant_revocations_pending_idx" ON "grant_revocations" ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "grant_revocations_account_id_idx" ON "grant_revocations" ("account_id");--> statement-breakpoint
CREATE INDEX "grant_revocations_connection_id_idx" ON "grant_revocations" ("connection_id");--> statement-breakpoint
ALTER TABLE "grant_revocations" ADD CONSTRAINT "grant_revocations_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "grant_revocations" ADD CONSTRAINT "grant_revocations_connection_id_connections_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE SET NULL;