CREATE TABLE "token_refresh_answers" (
	"integration_id" uuid NOT NULL,
	"replaces_version" integer NOT NULL,
	"sealed" text NOT NULL,
	"kept_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "token_refresh_answers_integration_id_replaces_version_pk" PRIMARY KEY("integration_id","replaces_version")
);
--> statement-breakpoint
CREATE TABLE "token_refresh_leases" (
	"integration_id" uuid PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "token_refresh_answers" ADD CONSTRAINT "token_refresh_answers_integration_id_ghl_integrations_id_fk" FOREIGN KEY ("integration_id") REFERENCES "public"."ghl_integrations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "token_refresh_leases" ADD CONSTRAINT "token_refresh_leases_integration_id_ghl_integrations_id_fk" FOREIGN KEY ("integration_id") REFERENCES "public"."ghl_integrations"("id") ON DELETE cascade ON UPDATE no action;