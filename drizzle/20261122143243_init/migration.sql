CREATE TYPE "actor_kind" AS ENUM('USER', 'SERVICE', 'SYSTEM');--> statement-breakpoint
CREATE TYPE "api_token_kind" AS ENUM('USER', 'SERVICE');--> statement-breakpoint
CREATE TYPE "auth_method" AS ENUM('OAUTH2', 'OAUTH2_CLIENT_CREDENTIALS', 'OAUTH1', 'BASIC', 'API_KEY', 'PROXY');--> statement-breakpoint
CREATE TYPE "connection_status" AS ENUM('PENDING', 'ACTIVE', 'DISCONNECTED', 'REVOKED');--> statement-breakpoint
CREATE TYPE "data_source_status" AS ENUM('ACTIVE', 'PAUSED', 'BROKEN');--> statement-breakpoint
CREATE TYPE "disconnect_reason" AS ENUM('INVALID_CREDENTIALS', 'INVALID_REFRESH_TOKEN', 'INSUFFICIENT_PRIVILEGES', 'EXPIRED_TOKEN', 'PROVIDER_ERROR', 'SUPERSEDED', 'UNKNOWN');--> statement-breakpoint
CREATE TYPE "refresh_run_status" AS ENUM('RUNNING', 'SUCCEEDED', 'FAILED');--> statement-breakpoint
CREATE TYPE "user_role" AS ENUM('MEMBER', 'EDITOR', 'ADMIN');--> statement-breakpoint
CREATE TABLE "accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"name" text NOT NULL,
	"kind" "api_token_kind" DEFAULT 'USER'::"api_token_kind" NOT NULL,
	"token_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "connection_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"from_status" "connection_status",
	"to_status" "connection_status" NOT NULL,
	"reason" "disconnect_reason",
	"message" text,
	"actor_kind" "actor_kind" NOT NULL,
	"actor_user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "connections" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"owner_id" uuid NOT NULL,
	"integration_key" text NOT NULL,
	"custom_integration_id" uuid,
	"name" text NOT NULL,
	"status" "connection_status" DEFAULT 'PENDING'::"connection_status" NOT NULL,
	"disconnect_reason" "disconnect_reason",
	"error_message" text,
	"shared" boolean DEFAULT false NOT NULL,
	"resource_id" text,
	"resource_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_checked_at" timestamp with time zone,
	"access_token_expires_at" timestamp with time zone,
	"reauthorize_by" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "credentials" (
	"connection_id" uuid PRIMARY KEY,
	"account_id" uuid NOT NULL,
	"key_id" text NOT NULL,
	"ciphertext" bytea NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "data_sources" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"resource_id" text NOT NULL,
	"name" text NOT NULL,
	"schedule" text NOT NULL,
	"filter" jsonb,
	"status" "data_source_status" DEFAULT 'ACTIVE'::"data_source_status" NOT NULL,
	"last_refreshed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "integrations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"auth_method" "auth_method" NOT NULL,
	"definition" jsonb NOT NULL,
	"created_by_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "refresh_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"data_source_id" uuid NOT NULL,
	"status" "refresh_run_status" DEFAULT 'RUNNING'::"refresh_run_status" NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"rows" integer,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"role" "user_role" DEFAULT 'MEMBER'::"user_role" NOT NULL,
	"is_owner" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens" ("token_hash");--> statement-breakpoint
CREATE INDEX "api_tokens_account_id_idx" ON "api_tokens" ("account_id","created_at");--> statement-breakpoint
CREATE INDEX "api_tokens_user_id_idx" ON "api_tokens" ("user_id");--> statement-breakpoint
CREATE INDEX "connection_events_connection_created_idx" ON "connection_events" ("connection_id","created_at","id");--> statement-breakpoint
CREATE INDEX "connection_events_account_created_idx" ON "connection_events" ("account_id","created_at");--> statement-breakpoint
CREATE INDEX "connection_events_actor_user_id_idx" ON "connection_events" ("actor_user_id");--> statement-breakpoint
CREATE INDEX "connections_account_created_idx" ON "connections" ("account_id","created_at","id");--> statement-breakpoint
CREATE INDEX "connections_account_status_idx" ON "connections" ("account_id","status");--> statement-breakpoint
CREATE INDEX "connections_account_integration_idx" ON "connections" ("account_id","integration_key");--> statement-breakpoint
CREATE INDEX "connections_owner_id_idx" ON "connections" ("owner_id");--> statement-breakpoint
CREATE INDEX "connections_custom_integration_id_idx" ON "connections" ("custom_integration_id");--> statement-breakpoint
CREATE INDEX "credentials_account_id_idx" ON "credentials" ("account_id");--> statement-breakpoint
CREATE INDEX "data_sources_connection_created_idx" ON "data_sources" ("connection_id","created_at","id");--> statement-breakpoint
CREATE INDEX "data_sources_account_id_idx" ON "data_sources" ("account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "integrations_account_key" ON "integrations" ("account_id","key");--> statement-breakpoint
CREATE INDEX "integrations_created_by_id_idx" ON "integrations" ("created_by_id");--> statement-breakpoint
CREATE INDEX "refresh_runs_data_source_started_idx" ON "refresh_runs" ("data_source_id","started_at","id");--> statement-breakpoint
CREATE INDEX "refresh_runs_account_id_idx" ON "refresh_runs" ("account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_key" ON "users" (lower("email"));--> statement-breakpoint
CREATE INDEX "users_account_id_idx" ON "users" ("account_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "users_one_owner_per_account" ON "users" ("account_id") WHERE "is_owner";--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_users_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "connection_events" ADD CONSTRAINT "connection_events_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "connection_events" ADD CONSTRAINT "connection_events_connection_id_connections_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "connection_events" ADD CONSTRAINT "connection_events_actor_user_id_users_id_fkey" FOREIGN KEY ("actor_user_id") REFERENCES "users"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_owner_id_users_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE RESTRICT;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_custom_integration_id_integrations_id_fkey" FOREIGN KEY ("custom_integration_id") REFERENCES "integrations"("id") ON DELETE RESTRICT;--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_connection_id_connections_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "data_sources" ADD CONSTRAINT "data_sources_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "data_sources" ADD CONSTRAINT "data_sources_connection_id_connections_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE RESTRICT;--> statement-breakpoint
ALTER TABLE "integrations" ADD CONSTRAINT "integrations_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "integrations" ADD CONSTRAINT "integrations_created_by_id_users_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "refresh_runs" ADD CONSTRAINT "refresh_runs_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "refresh_runs" ADD CONSTRAINT "refresh_runs_data_source_id_data_sources_id_fkey" FOREIGN KEY ("data_source_id") REFERENCES "data_sources"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_account_id_accounts_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE;