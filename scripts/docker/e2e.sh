#!/usr/bin/env bash
# The images built and run, not only written: builds the local base images (base-images.sh), every
# Dockerfile target, checks docker-compose.yml for every profile, then runs the stack with the
# sandbox HighLevel, connects a client through the containers, sends an SMS and sees it at the
# sandbox, scales the worker to 3 (each ready and processing jobs), and removes everything.
# One line per step, then a pass/fail line. Without a Docker engine (none installed, none
# installable, none startable) it says so and passes as skipped.
#   --tap   the same steps as one TAP subtest (scripts/test.sh appends it to the suite's stream)
# Env: DOCKER_E2E_KEEP=1 leaves the stack up on failure, to look at it.
set -uo pipefail
# read whole before it runs (a { } block), so editing the file during a run cannot break that run
{
cd "$(dirname "$0")/../.."
tap=false
[ "${1:-}" = --tap ] && tap=true
title='docker: every image built, the compose stack run end to end (connect, one SMS, 3 workers)'
started=$(date +%s)
n=0
failed=0
project=ghl-connect-e2e-$$
say () { if $tap; then echo "    # $*"; else echo "docker: $*"; fi; }
pass () { n=$((n + 1)); if $tap; then echo "    ok $n - $*"; else echo "docker: ok    $*"; fi; }
fail () {
  n=$((n + 1)); failed=$((failed + 1))
  if $tap; then echo "    not ok $n - $1"; else echo "docker: FAIL  $1"; fi
  [ -n "${2:-}" ] && printf '%s\n' "$2" | tail -40 | sed 's/^/    # /'
}
finish () {
  local seconds=$(( $(date +%s) - started ))
  if $tap; then
    echo "    1..$n"
    if [ "$failed" -eq 0 ]; then echo "ok 1 - $title # time=${seconds}s"; else echo "not ok 1 - $title"; fi
    echo "1..1"
  elif [ "$failed" -eq 0 ]; then echo "docker: PASS  $n steps in $seconds s"
  else echo "docker: FAIL  $failed of $n steps failed ($seconds s)"; fi
  exit $(( failed > 0 ))
}
skip () {
  local seconds=$(( $(date +%s) - started ))
  if $tap; then echo "TAP version 14"; echo "ok 1 - $title # SKIP $1"; echo "1..1"
  else echo "docker: SKIP  $1 ($seconds s)"; fi
  exit 0
}
# --- the engine: Debian's docker.io, started (installed) here when it is not running
engine=$(bash scripts/docker/engine.sh) || skip "$engine"
read -r -a compose_cmd <<<"${engine#compose: }"
$tap && { echo "TAP version 14"; echo "# Subtest: $title"; }
pass "the Docker engine $(docker version -f '{{.Server.Version}}' 2>/dev/null) runs ($("${compose_cmd[@]}" version --short 2>/dev/null | head -1))"

# --- the base images (kept between runs): the Node base first, alone (everything else waits
# for it), then the service images in the background while the Dockerfile's targets are built
step_start=$(date +%s)
if out=$(bash scripts/docker/base-images.sh node 2>&1); then
  pass "Node base image ready in $(( $(date +%s) - step_start )) s"
  grep '^base: ' <<<"$out" | while read -r line; do say "$line"; done
else fail "Node base image" "$out"; finish; fi
services_out=$(mktemp)
bash scripts/docker/base-images.sh services >"$services_out" 2>&1 &
services_pid=$!

# --- every Dockerfile target, built with the local Node base
export DOCKER_BUILDKIT=0 # the engine's own builder: Debian's docker.io ships no buildx
for pair in migrate:ghl-connect-migrate ghl-sandbox:ghl-connect-sandbox worker:ghl-connect-worker api:ghl-connect-api; do
  target=${pair%%:*} image=${pair#*:}:local
  step_start=$(date +%s)
  if out=$(docker build --network host --build-arg NODE_IMAGE=ghl-connect-node:20-bookworm --target "$target" -t "$image" . 2>&1); then
    user=$(docker image inspect -f '{{.Config.User}}' "$image")
    size=$(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%d MB", $1 / 1000000 }')
    if [ "$user" = node ]; then pass "image $image built in $(( $(date +%s) - step_start )) s ($size, runs as $user)"
    else fail "image $image runs as '${user:-root}', not node"; fi
  else fail "image $image" "$out"; wait "$services_pid"; finish; fi
done

step_start=$(date +%s)
if wait "$services_pid"; then
  pass "service base images ready (waited $(( $(date +%s) - step_start )) s after the targets)"
  grep '^base: ' "$services_out" | while read -r line; do say "$line"; done
else fail "service base images" "$(cat "$services_out")"; rm -f "$services_out"; finish; fi
rm -f "$services_out"

# --- the compose file, for every profile
export POSTGRES_IMAGE=ghl-connect-postgres:15 REDIS_IMAGE=ghl-connect-redis:7 PGBOUNCER_IMAGE=ghl-connect-pgbouncer:1 NODE_IMAGE=ghl-connect-node:20-bookworm
free_port () { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
GHL_CONNECT_API_PORT=$(free_port)
GHL_CONNECT_SANDBOX_PORT=$(free_port)
export GHL_CONNECT_API_PORT GHL_CONNECT_SANDBOX_PORT
compose () { "${compose_cmd[@]}" -p "$project" "$@"; }
configs_ok=true
for profiles in "" "--profile sandbox" "--env-file docker-compose.scale.env --profile sandbox --profile scale"; do
  # shellcheck disable=SC2086
  out=$(compose $profiles config -q 2>&1) || { configs_ok=false; fail "docker-compose config ${profiles:-(no profile)}" "$out"; }
done
$configs_ok && pass "docker-compose config: no profile, sandbox, sandbox + scale"

# --- the stack with the sandbox HighLevel, torn down whatever happens
teardown () {
  if [ "${DOCKER_E2E_KEEP:-}" = 1 ] && [ "$failed" -gt 0 ]; then say "left running: ${compose_cmd[*]} -p $project"; return; fi
  compose --profile sandbox down -v --remove-orphans -t 10 >/dev/null 2>&1
}
trap teardown EXIT
trap 'exit 130' INT TERM
logs () { compose --profile sandbox logs --no-color --tail 30 "$@" 2>&1; }
# the state Docker's HEALTHCHECK reports for each container of a service, one word a line
health () { for id in $(compose --profile sandbox ps -q "$1"); do docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id"; done; }
wait_healthy () { # service count seconds
  local end=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    [ "$(health "$1" | grep -c '^healthy$')" -ge "$2" ] && return 0
    sleep 2
  done
  return 1
}
step_start=$(date +%s)
if out=$(compose --profile sandbox up -d --no-build 2>&1) && wait_healthy api 1 180 && wait_healthy worker 1 120 && wait_healthy ghl-sandbox 1 60; then
  pass "docker-compose --profile sandbox up: postgres, redis, migrate, sandbox, api, worker ready in $(( $(date +%s) - step_start )) s"
else fail "docker-compose --profile sandbox up" "$out
$(logs)"; finish; fi

api_id=$(compose ps -q api)
rss=$(docker exec "$api_id" cat /proc/1/status | awk '/^VmRSS:/ { printf "%d MiB", $2 / 1024 }')
api_user=$(docker exec "$api_id" id -un)
ready=$(curl -fsS "http://127.0.0.1:$GHL_CONNECT_API_PORT/readyz" 2>&1)
if [ "$api_user" = node ] && [[ $ready == *ready* || $ready == *ok* ]]; then pass "api /readyz through the published port: $ready (user $api_user, RSS $rss)"
else fail "api /readyz: '$ready' as user $api_user"; fi

export API="http://localhost:$GHL_CONNECT_API_PORT" SANDBOX="http://localhost:$GHL_CONNECT_SANDBOX_PORT"
API_KEY=$(docker exec "$api_id" sed -n 's/^API_KEYS=//p' /secrets/.env)
export API_KEY
if out=$(node scripts/docker/drive.mjs connect 2>&1); then pass "$out (the sandbox's consent, through the containers)"
else fail "connect a client" "$out
$(logs api)"; finish; fi
if out=$(node scripts/docker/drive.mjs sms 1 one 2>&1); then pass "$out"
else fail "send one SMS" "$out
$(logs api worker)"; finish; fi

# --- three workers: each ready, each processing
step_start=$(date +%s)
jobs_of () { docker exec "$1" node -e 'fetch("http://127.0.0.1:3001/metrics").then(r=>r.text()).then(t=>{let n=0;for(const l of t.split("\n"))if(l.startsWith("ghl_connect_jobs_total{"))n+=Number(l.split(" ").pop());console.log(n)})'; }
if out=$(compose --profile sandbox up -d --no-build --no-recreate --scale worker=3 2>&1) && wait_healthy worker 3 180; then
  workers=$(compose ps -q worker)
  declare -A before=()
  for id in $workers; do before[$id]=$(jobs_of "$id"); done
  # SMS in rounds until every worker has taken some (BullMQ hands each job to whichever waits)
  idle=" (no round ran)" sent=true
  for round in 1 2 3 4 5; do
    out=$(node scripts/docker/drive.mjs sms 12 "scale$round" 2>&1) || { sent=false; break; }
    idle=""
    for id in $workers; do [ "$(jobs_of "$id")" -gt "${before[$id]}" ] || idle="$idle ${id:0:12}"; done
    [ -z "$idle" ] && break
  done
  counts=$(for id in $workers; do echo -n "$(( $(jobs_of "$id") - before[$id] )) "; done)
  if $sent && [ -z "$idle" ] && [ "$(wc -w <<<"$workers")" -eq 3 ]; then pass "--scale worker=3: 3 workers ready in $(( $(date +%s) - step_start )) s, jobs each: ${counts% } ($out)"
  else fail "--scale worker=3: idle workers:${idle:- none} (jobs each: $counts)" "$out
$(logs worker)"; fi
else fail "--scale worker=3" "$out
$(logs worker)"; fi

step_start=$(date +%s)
if out=$(compose --profile sandbox down -v --remove-orphans -t 10 2>&1) && [ -z "$(compose ps -q 2>/dev/null)" ]; then
  pass "docker-compose down: every container, network and volume removed in $(( $(date +%s) - step_start )) s"
else fail "docker-compose down" "$out"; fi
trap - EXIT
finish
}
