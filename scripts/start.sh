#!/usr/bin/env bash
# The one run command: secrets, dependencies, services, migrations, then the sandbox HighLevel,
# the api and the worker in the foreground (Ctrl-C stops all three).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prepare_workspace
node scripts/generate-env.mjs .env
load_env_file .env
ensure_services "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ghl_connect}" "${REDIS_URL:-redis://127.0.0.1:6379}"
say "applying migrations"
pnpm run db:migrate

pids=()
stop() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; }
trap stop INT TERM EXIT
say "starting the sandbox HighLevel, the api and the worker"
(cd services/ghl-sandbox && exec node --import tsx src/server.ts) & pids+=($!)
(cd services/api && exec node --import tsx src/server.ts) & pids+=($!)
(cd services/worker && exec node --import tsx src/main.ts) & pids+=($!)

api="http://localhost:${PORT:-3000}"
for _ in $(seq 1 60); do curl -fs "$api/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
api_key=${API_KEYS%%,*}
api_key=${api_key#*:}   # a named entry is name:key
links=$(curl -fs -X POST "$api/api/ghl-oauth/connect-links" -H "authorization: Bearer $api_key" \
  -H 'content-type: application/json' -d '{"clientId":"demo-client","ttlSeconds":86400}' \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const j=JSON.parse(s);console.log(j.url+" "+j.connectPageUrl)}catch{console.log("(not-available) (not-available)")}})' || echo "(not-available) (not-available)")
link=${links%% *}
page=${links##* }
cat <<INFO

  ghl-connect is running.
  API                 $api        (Bearer key: first entry of API_KEYS in .env)
  Connect demo-client $link
  Connect page        $page
  Bull Board          $api/admin/queues   (user ${ADMIN_USER:-admin}, password ADMIN_PASSWORD in .env)
  Metrics             $api/metrics
  API docs            $api/docs   (OpenAPI document: $api/docs/json)
  Sandbox HighLevel   http://localhost:${SANDBOX_PORT:-4010}/_sandbox/messages   (control API: services/ghl-sandbox/README.md)
  Send an SMS once connected:
    curl -X POST $api/api/sms -H "authorization: Bearer \$API_KEY" -H 'content-type: application/json' \\
      -d '{"clientId":"demo-client","to":{"phone":"+15555550100"},"message":"Hello from ghl-connect"}'

INFO
wait -n "${pids[@]}"
