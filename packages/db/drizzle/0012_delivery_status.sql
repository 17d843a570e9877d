CREATE TABLE "early_delivery_statuses" (
	"ghl_message_id" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"error_code" text,
	"error_message" text,
	"reported_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "delivery_status" text;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "delivery_error_code" text;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "delivery_error_message" text;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "delivery_updated_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "early_delivery_statuses_received" ON "early_delivery_statuses" USING btree ("received_at");