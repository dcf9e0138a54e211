ALTER TYPE "disconnect_reason" ADD VALUE 'DATABASE_NOT_FOUND';--> statement-breakpoint
ALTER TYPE "disconnect_reason" ADD VALUE 'USER_NOT_FOUND';--> statement-breakpoint
ALTER TYPE "disconnect_reason" ADD VALUE 'TLS_REQUIRED';--> statement-breakpoint
ALTER TYPE "disconnect_reason" ADD VALUE 'HOST_UNREACHABLE';--> statement-breakpoint
ALTER TYPE "disconnect_reason" ADD VALUE 'HOST_NOT_FOUND';--> statement-breakpoint
ALTER TYPE "disconnect_reason" ADD VALUE 'TLS_CERTIFICATE';