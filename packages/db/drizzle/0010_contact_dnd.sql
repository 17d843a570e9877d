CREATE TABLE "contact_dnd" (
	"location_id" text NOT NULL,
	"contact_id" text NOT NULL,
	"sms_dnd" boolean NOT NULL,
	"changed_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contact_dnd_location_id_contact_id_pk" PRIMARY KEY("location_id","contact_id")
);
