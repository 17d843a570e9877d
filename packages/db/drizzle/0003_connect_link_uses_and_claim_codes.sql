CREATE TABLE "install_claim_codes" (
	"location_id" text PRIMARY KEY NOT NULL,
	"code_hash" text NOT NULL,
	"failed_attempts" integer DEFAULT 0 NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "used_connect_links" (
	"link_hash" text PRIMARY KEY NOT NULL,
	"client_id" text NOT NULL,
	"used_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "install_claim_codes_expiry" ON "install_claim_codes" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "used_connect_links_expiry" ON "used_connect_links" USING btree ("expires_at");