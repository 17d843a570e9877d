CREATE TABLE "gap_fill_cursors" (
	"location_id" text PRIMARY KEY NOT NULL,
	"read_until" timestamp with time zone,
	"pass_from" timestamp with time zone,
	"page_cursor" text,
	"budget_calls" double precision NOT NULL,
	"budget_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_traffic_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "sms_messages_delivery_pending" ON "sms_messages" USING btree ("sent_at") WHERE delivery_status = 'pending';