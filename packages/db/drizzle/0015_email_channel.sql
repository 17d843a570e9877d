ALTER TABLE "sms_messages" DROP CONSTRAINT "sms_messages_one_recipient";--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "channel" text DEFAULT 'sms' NOT NULL;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "email" text;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "subject" text;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "body_is_html" boolean;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "email_options" jsonb;--> statement-breakpoint
ALTER TABLE "contact_dnd" ADD COLUMN "email_dnd" boolean;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD CONSTRAINT "sms_messages_channel_known" CHECK (channel in ('sms', 'email'));--> statement-breakpoint
ALTER TABLE "sms_messages" ADD CONSTRAINT "sms_messages_channel_fields" CHECK ((channel = 'email' and subject is not null and phone is null) or (channel = 'sms' and subject is null and email is null));--> statement-breakpoint
ALTER TABLE "sms_messages" ADD CONSTRAINT "sms_messages_one_recipient" CHECK (num_nonnulls(contact_id, phone, contact_name, email) = 1);