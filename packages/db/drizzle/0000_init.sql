CREATE TABLE "ghl_integrations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"client_id" text DEFAULT '' NOT NULL,
	"location_id" text NOT NULL,
	"company_id" text,
	"location_name" text,
	"user_type" text DEFAULT 'Location' NOT NULL,
	"scopes" text[] DEFAULT '{}'::text[] NOT NULL,
	"access_token" text,
	"refresh_token" text,
	"expires_at" timestamp with time zone NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"token_version" integer DEFAULT 1 NOT NULL,
	"refresh_failures" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_refreshed_at" timestamp with time zone,
	"last_synced_at" timestamp with time zone,
	"connected_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ghl_integrations_status_known" CHECK (status in ('active', 'needs_reauth', 'location_inactive', 'revoked'))
);
--> statement-breakpoint
CREATE TABLE "sms_messages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"client_id" text NOT NULL,
	"integration_id" uuid,
	"idempotency_key" text,
	"contact_id" text,
	"phone" text,
	"contact_name" text,
	"body" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error_code" text,
	"error_message" text,
	"ghl_message_id" text,
	"ghl_conversation_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sms_messages_status_known" CHECK (status in ('queued', 'sending', 'sent', 'failed')),
	CONSTRAINT "sms_messages_one_recipient" CHECK (num_nonnulls(contact_id, phone, contact_name) = 1)
);
--> statement-breakpoint
CREATE TABLE "webhook_receipts" (
	"webhook_id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"location_id" text,
	"company_id" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sms_messages" ADD CONSTRAINT "sms_messages_integration_id_ghl_integrations_id_fk" FOREIGN KEY ("integration_id") REFERENCES "public"."ghl_integrations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ghl_integrations_one_active_per_client" ON "ghl_integrations" USING btree ("client_id") WHERE is_active and client_id <> '';--> statement-breakpoint
CREATE INDEX "ghl_integrations_active_expiry" ON "ghl_integrations" USING btree ("expires_at") WHERE is_active;--> statement-breakpoint
CREATE INDEX "ghl_integrations_location" ON "ghl_integrations" USING btree ("location_id");--> statement-breakpoint
CREATE UNIQUE INDEX "sms_messages_idempotency" ON "sms_messages" USING btree ("client_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "sms_messages_queued" ON "sms_messages" USING btree ("created_at") WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX "sms_messages_client_created" ON "sms_messages" USING btree ("client_id","created_at");