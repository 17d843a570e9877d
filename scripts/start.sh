#!/usr/bin/env bash
# The one run command: secrets, dependencies, services, the build, migrations, then the sandbox
# HighLevel, the api and the worker in the foreground, compiled and started with node as in
# production (Ctrl-C stops all three). `--dev` (pnpm dev) runs the TypeScript sources instead,
# each restarted by `tsx watch` when a file changes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dev=false
[ "${1:-}" = --dev ] && dev=true
prepare_workspace
node scripts/generate-env.mjs .env
load_env_file .env

pids=()
stop() {
  trap - INT TERM EXIT
  kill "${pids[@]}" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null
  stop_private_services
}
trap stop INT TERM EXIT
ensure_services "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ghl_connect}" "${REDIS_URL:-redis://127.0.0.1:6379}"
export DATABASE_URL=$SERVICES_POSTGRES_URL REDIS_URL=$SERVICES_REDIS_URL

if $dev; then
  say "applying migrations"
  pnpm run db:migrate
  say "starting the sandbox HighLevel, the api and the worker from their sources (tsx watch)"
  tsx=$ROOT/node_modules/.bin/tsx
  (cd services/ghl-sandbox && exec "$tsx" watch src/server.ts) & pids+=($!)
  (cd services/api && exec "$tsx" watch src/server.ts) & pids+=($!)
  (cd services/worker && exec "$tsx" watch src/main.ts) & pids+=($!)
else
  say "building"
  pnpm run --silent build >/dev/null
  say "applying migrations"
  node packages/db/dist/migrate.js
  say "starting the sandbox HighLevel, the api and the worker (node dist/...)"
  (cd services/ghl-sandbox && exec node dist/server.js) & pids+=($!)
  (cd services/api && exec node dist/server.js) & pids+=($!)
  (cd services/worker && exec node dist/main.js) & pids+=($!)
fi

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
