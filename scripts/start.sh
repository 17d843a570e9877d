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
# Where each piece is reached follows PORT and SANDBOX_PORT, whether given here or in .env. The
# sandbox keeps its grants in a file (a restart does not disconnect anyone), sends its message
# webhooks (replies, delivery reports) to the api, and reports a delivery after each send.
export PORT=${PORT:-3000} SANDBOX_PORT=${SANDBOX_PORT:-4010}
export APP_URL=${APP_URL:-http://localhost:$PORT}
export GHL_AUTH_BASE_URL=${GHL_AUTH_BASE_URL:-http://localhost:$SANDBOX_PORT} GHL_API_BASE_URL=${GHL_API_BASE_URL:-http://localhost:$SANDBOX_PORT}
export SANDBOX_STATE_FILE=${SANDBOX_STATE_FILE:-$DATA_DIR/sandbox-state.json}
export SANDBOX_MESSAGE_WEBHOOK_URL=${SANDBOX_MESSAGE_WEBHOOK_URL:-$APP_URL/api/ghl-oauth/webhooks}
export SANDBOX_DELIVERY_REPORTS=${SANDBOX_DELIVERY_REPORTS:-true}

# What this run was given beyond .env, for `pnpm ghl` in another shell (packages/cli/src/bin.ts
# reads it before .env); removed on stop.
STACK_ENV=$DATA_DIR/stack.env
write_stack_env() {
  mkdir -p "$DATA_DIR"
  local name
  for name in PORT APP_URL CRM_ORIGIN DATABASE_URL REDIS_URL REDIS_KEY_PREFIX GHL_AUTH_BASE_URL GHL_API_BASE_URL CRM_WEBHOOK_URL CRM_WEBHOOK_SECRET; do
    if [ -n "${!name:-}" ]; then printf "%s='%s'\n" "$name" "${!name}"; fi
  done > "$STACK_ENV"
}

pids=()
stop() {
  trap - INT TERM EXIT
  kill "${pids[@]}" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null
  stop_private_services
  rm -f "$STACK_ENV"
}
trap stop INT TERM EXIT
ensure_services "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ghl_connect}" "${REDIS_URL:-redis://127.0.0.1:6379}"
export DATABASE_URL=$SERVICES_POSTGRES_URL REDIS_URL=$SERVICES_REDIS_URL
write_stack_env
# Each process in a process group of its own: Ctrl-C reaches this script only, and stop() signals
# each process once (a second signal would cut its graceful shutdown short).
set -m

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
  # Heap flags (the same in docker-compose.yml, the Dockerfile and the bench; docs/benchmarks.md):
  # V8's young generation and heap growth were most of the api's and worker's peak RSS under load.
  # The worker keeps a larger young generation: 2 MB cost it CPU per SMS, the api measured no loss.
  (cd services/api && exec node --max-semi-space-size=2 --max-old-space-size=96 dist/server.js) & pids+=($!)
  (cd services/worker && exec node --max-semi-space-size=8 --max-old-space-size=96 dist/main.js) & pids+=($!)
fi

api="http://localhost:$PORT"   # APP_URL may be a public address (a tunnel); this shell reaches the api here
sandbox="http://localhost:$SANDBOX_PORT"
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
  Sandbox HighLevel   $sandbox/_sandbox/messages   (state kept in $SANDBOX_STATE_FILE; control API: services/ghl-sandbox/README.md)

  Open the demo-client link, choose Sunrise Dental, then send an SMS to its contact Jane Doe:
    curl -X POST $api/api/sms -H "authorization: Bearer $api_key" -H 'content-type: application/json' \\
      -d '{"clientId":"demo-client","to":{"phone":"+15550100001"},"message":"Hello from ghl-connect"}'
  A delivery report follows each send by itself (SANDBOX_DELIVERY_REPORTS). Jane replies with:
    curl -X POST $sandbox/_sandbox/replies -H 'content-type: application/json' \\
      -d '{"contactId":"sbxContact0000000001","body":"Yes, see you then"}'
  Report a message failed instead: curl -X POST $sandbox/_sandbox/messages/<messageId from /_sandbox/messages>/delivery \\
      -H 'content-type: application/json' -d '{"status":"failed"}'
  Both reach your CRM as signed events at CRM_WEBHOOK_URL (${CRM_WEBHOOK_URL:-unset: set it in .env and restart; connections are kept}).

INFO
wait -n "${pids[@]}"
