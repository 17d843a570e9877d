CREATE TABLE "crm_events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "crm_events_status_known" CHECK (status in ('pending', 'delivered', 'failed'))
);
--> statement-breakpoint
CREATE INDEX "crm_events_pending" ON "crm_events" USING btree ("next_at") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "crm_events_delivered" ON "crm_events" USING btree ("delivered_at") WHERE status = 'delivered';--> statement-breakpoint
CREATE INDEX "sms_messages_finished" ON "sms_messages" USING btree ("updated_at") WHERE status in ('sent', 'failed');--> statement-breakpoint
CREATE INDEX "webhook_receipts_received" ON "webhook_receipts" USING btree ("received_at");