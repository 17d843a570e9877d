-- One location, one client. Before the index, locations held by several active clients keep
-- the newest connection; each older one is deactivated (tokens erased) and its client hears
-- connection.replaced (id connection.replaced-<the deactivated integration's id>, locationId
-- null: the location now belongs to another client). The log names counts only.
DO $$
DECLARE
  locations integer;
  deactivated integer;
BEGIN
  WITH ranked AS (
    SELECT id, row_number() OVER (PARTITION BY location_id ORDER BY connected_at DESC, created_at DESC, id DESC) AS n
    FROM ghl_integrations WHERE is_active AND client_id <> ''
  ), losers AS (
    UPDATE ghl_integrations g SET is_active = false, status = 'revoked', access_token = NULL, refresh_token = NULL,
      token_version = g.token_version + 1, updated_at = now()
    FROM ranked r WHERE g.id = r.id AND r.n > 1
    RETURNING g.id, g.client_id, g.location_id
  ), recorded AS (
    INSERT INTO crm_events (id, type, payload)
    SELECT 'connection.replaced-' || id, 'connection.replaced',
      jsonb_build_object('clientId', client_id, 'previousLocationId', location_id, 'locationId', NULL)
    FROM losers
    ON CONFLICT (id) DO NOTHING
  )
  SELECT count(*), count(DISTINCT location_id) INTO deactivated, locations FROM losers;
  RAISE NOTICE 'one location, one client: % location(s) were held by several clients; % older connection(s) deactivated, each with a connection.replaced event', locations, deactivated;
END $$;--> statement-breakpoint
CREATE UNIQUE INDEX "ghl_integrations_one_active_per_location" ON "ghl_integrations" USING btree ("location_id") WHERE is_active and client_id <> '';
