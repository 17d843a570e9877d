ALTER TABLE "sms_messages" ADD COLUMN "attempt_id" uuid;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "attempt_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "ghl_contact_id" text;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "outcome_unknown_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "retrying_since" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "sms_messages_ghl_message" ON "sms_messages" USING btree ("ghl_message_id") WHERE ghl_message_id is not null;