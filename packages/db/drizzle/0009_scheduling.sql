CREATE TABLE "client_settings" (
	"client_id" text PRIMARY KEY NOT NULL,
	"quiet_hours_start" text,
	"quiet_hours_end" text,
	"quiet_hours_time_zone" text,
	"default_from_number" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "client_settings_quiet_hours_whole" CHECK (num_nonnulls(quiet_hours_start, quiet_hours_end, quiet_hours_time_zone) in (0, 3))
);
--> statement-breakpoint
ALTER TABLE "sms_messages" DROP CONSTRAINT "sms_messages_status_known";--> statement-breakpoint
DROP INDEX "sms_messages_finished";--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "send_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "from_number" text;--> statement-breakpoint
CREATE INDEX "sms_messages_scheduled" ON "sms_messages" USING btree ("send_at","id") WHERE status = 'queued' and send_at is not null;--> statement-breakpoint
CREATE INDEX "sms_messages_finished" ON "sms_messages" USING btree ("updated_at") WHERE status in ('sent', 'failed', 'cancelled');--> statement-breakpoint
ALTER TABLE "sms_messages" ADD CONSTRAINT "sms_messages_status_known" CHECK (status in ('queued', 'sending', 'sent', 'failed', 'cancelled'));