ALTER TABLE "ghl_integrations" ADD COLUMN "last_error_code" text;--> statement-breakpoint
ALTER TABLE "ghl_integrations" ADD COLUMN "last_error_at" timestamp with time zone;