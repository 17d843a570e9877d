# Shared by scripts/start.sh, scripts/test.sh and .ci/run: get pnpm and the dependencies, and make
# sure PostgreSQL and Redis answer before anything needs them.
PNPM_VERSION=12.4.2
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_node() {
  command -v node >/dev/null || { echo "Node.js 20 or newer is needed: https://nodejs.org" >&2; exit 1; }
  local major; major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || { echo "Node.js 20 or newer is needed (found $(node -v))" >&2; exit 1; }
}

ensure_pnpm() {
  if [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
    say "installing pnpm $PNPM_VERSION"
    # corepack's signature check fails for this version; npm installs it cleanly
    npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || npm install -g --prefix "$HOME/.local" "pnpm@$PNPM_VERSION" >/dev/null
    export PATH="$HOME/.local/bin:$PATH"
  fi
}

ensure_dependencies() {
  say "installing dependencies"
  (cd "$ROOT" && pnpm install --frozen-lockfile --reporter=silent)
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# host and port from a URL such as postgres://user@host:5432/db
url_host() { node -e 'const u=new URL(process.argv[1]);console.log(u.hostname)' "$1"; }
url_port() { node -e 'const u=new URL(process.argv[1]);console.log(u.port||process.argv[2])' "$1" "$2"; }

# Where a private PostgreSQL and Redis keep their data (gitignored). As root, PostgreSQL runs as
# the user postgres: when that user cannot enter this folder (a clone under /root), PostgreSQL's
# data lives in the run's own folder under TMPDIR instead, removed when the services stop.
DATA_DIR=${GHL_CONNECT_DATA_DIR:-$ROOT/.data}

# Makes sure PostgreSQL and Redis answer at the given URLs. For each that does not: with a Docker
# engine, docker compose starts it; otherwise a private one is started on a free port
# (scripts/private-services.mjs) and stopped by stop_private_services (call it on exit). Either way
# SERVICES_POSTGRES_URL and SERVICES_REDIS_URL are the URLs to use, with the given database name.
ensure_services() {
  local pg_url=${1:-postgres://postgres@127.0.0.1:5432/postgres} redis_url=${2:-redis://127.0.0.1:6379}
  local pg_host pg_port redis_host redis_port missing=()
  SERVICES_POSTGRES_URL=$pg_url
  SERVICES_REDIS_URL=$redis_url
  pg_host=$(url_host "$pg_url"); pg_port=$(url_port "$pg_url" 5432)
  redis_host=$(url_host "$redis_url"); redis_port=$(url_port "$redis_url" 6379)
  port_open "$pg_host" "$pg_port" || missing+=(postgres)
  port_open "$redis_host" "$redis_port" || missing+=(redis)
  [ ${#missing[@]} -eq 0 ] && return 0
  # an engine without the compose plugin (Debian's docker.io with docker-compose 1) is no help here
  if command -v docker >/dev/null && docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    say "starting ${missing[*]} with docker compose"
    (cd "$ROOT" && docker compose up -d --wait "${missing[@]}")
    return 0
  fi
  start_private_services "$pg_url" "${missing[@]}"
}

# redis-server from PATH, or Debian's package when running as root on Debian/Ubuntu.
ensure_redis_server() {
  command -v redis-server >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's redis-server"
    # RUNLEVEL=1: the package's scripts must not start a system-wide Redis on 6379 as well
    (RUNLEVEL=1 apt-get -o DPkg::Lock::Timeout=600 install -y redis-server >/dev/null 2>&1 ||
      (apt-get update >/dev/null && RUNLEVEL=1 apt-get -o DPkg::Lock::Timeout=600 install -y redis-server >/dev/null)) && return 0
  fi
  echo "Redis is not reachable and there is no redis-server to start one: install Redis 7 (apt-get install redis-server, brew install redis) or set REDIS_URL to one." >&2
  exit 1
}

# The tests' PostgreSQL and Redis, exported as TEST_POSTGRES_URL and TEST_REDIS_URL: private ones of
# their own when none answer (beside those of a start.sh running in this checkout), stopped on exit.
ensure_test_services() {
  DATA_DIR=${GHL_CONNECT_DATA_DIR:-$ROOT/.data/test}
  trap stop_private_services EXIT
  ensure_services "${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" "${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
  export TEST_POSTGRES_URL=$SERVICES_POSTGRES_URL TEST_REDIS_URL=$SERVICES_REDIS_URL
}

# pgbouncer for the pgbouncer test target: Debian's package when running as root and missing
# (its scripts start no system-wide PgBouncer here: RUNLEVEL=1). Returns 1 when there is none.
ensure_pgbouncer() {
  command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's pgbouncer for the pgbouncer test target"
    (RUNLEVEL=1 apt-get -o DPkg::Lock::Timeout=600 install -y pgbouncer >/dev/null 2>&1 ||
      (apt-get update >/dev/null && RUNLEVEL=1 apt-get -o DPkg::Lock::Timeout=600 install -y pgbouncer >/dev/null)) && return 0
  fi
  echo "pgbouncer is not installed (apt-get install pgbouncer): the pgbouncer test target will fail" >&2
  return 1
}

PRIVATE_SERVICES_PID=
start_private_services() {
  local pg_url=$1; shift
  local flags=() names=() what=() state="$DATA_DIR/services.env" failed="$DATA_DIR/services.error" log given
  for m in "$@"; do
    flags+=("--$m")
    case $m in postgres) names+=(PostgreSQL) ;; redis) names+=(Redis) ;; esac
  done
  local wanted="a private ${names[0]}${names[1]:+ and ${names[1]}}"
  [[ " $* " == *" redis "* ]] && ensure_redis_server
  mkdir -p "$DATA_DIR" 2>/dev/null || { echo "Could not start $wanted: cannot create $DATA_DIR; set GHL_CONNECT_DATA_DIR to a folder you can write." >&2; exit 1; }
  log="$DATA_DIR/private-services.log"
  rm -f "$state" "$failed"
  (umask 077 && : >>"$log")
  node "$ROOT/scripts/private-services.mjs" "$DATA_DIR" "${flags[@]}" --parent $$ >>"$log" 2>&1 &
  PRIVATE_SERVICES_PID=$!
  for _ in $(seq 1 480); do
    [ -f "$state" ] && break
    kill -0 "$PRIVATE_SERVICES_PID" 2>/dev/null || break
    sleep 0.25
  done
  if [ ! -f "$state" ]; then
    local why
    if [ -s "$failed" ]; then why=$(head -n 1 "$failed")
    elif kill -0 "$PRIVATE_SERVICES_PID" 2>/dev/null; then why="no answer within 2 minutes (the machine may be overloaded); see $log"
    else why="scripts/private-services.mjs ended without saying why; see $log"
    fi
    echo "Could not start $wanted: $why" >&2
    stop_private_services
    exit 1
  fi
  # shellcheck source=/dev/null
  source "$state"
  local data="data in ${DATA_DIR#"$ROOT"/}/"
  if [ -n "${PRIVATE_POSTGRES_URL:-}" ]; then
    # the private server, with the database the caller asked for
    given=$(node -e 'const [p,g]=process.argv.slice(1).map((u)=>new URL(u));p.pathname=g.pathname;console.log(p.toString())' "$PRIVATE_POSTGRES_URL" "$pg_url")
    SERVICES_POSTGRES_URL=$given
    what+=("PostgreSQL on 127.0.0.1:$PRIVATE_POSTGRES_PORT")
    [ -n "${PRIVATE_POSTGRES_TEMPORARY:-}" ] &&
      data="data in ${DATA_DIR#"$ROOT"/}/ but PostgreSQL's in $PRIVATE_POSTGRES_DATA, removed when it stops: $PRIVATE_POSTGRES_TEMPORARY"
  fi
  if [ -n "${PRIVATE_REDIS_URL:-}" ]; then
    SERVICES_REDIS_URL=$PRIVATE_REDIS_URL
    what+=("Redis on 127.0.0.1:$PRIVATE_REDIS_PORT")
  fi
  local started=${what[0]} stop="it stops"
  [ ${#what[@]} -eq 2 ] && started="${what[0]} and ${what[1]}" && stop="both stop"
  say "no ${names[0]}${names[1]:+ or ${names[1]}} running and no Docker: started a private $started ($data); $stop when this script exits"
}

# Stops what start_private_services started (a no-op when it started nothing).
stop_private_services() {
  [ -n "$PRIVATE_SERVICES_PID" ] || return 0
  kill -TERM "$PRIVATE_SERVICES_PID" 2>/dev/null
  wait "$PRIVATE_SERVICES_PID" 2>/dev/null
  PRIVATE_SERVICES_PID=
}

# Exports the variables of a .env file, read by Node's dotenv parser (scripts/env-file.mjs).
load_env_file() {
  local exports; exports=$(node "$ROOT/scripts/env-file.mjs" "$1") || exit 1
  eval "$exports"
}

# Node, pnpm and the dependencies, from the repository root.
prepare_workspace() {
  cd "$ROOT"
  ensure_node
  ensure_pnpm
  ensure_dependencies
}

# The TAP of scripts/docker/e2e.sh run in the background (.ci/run's parallel mode): waits for its
# .done file, at most until the deadline (epoch seconds, 15 s kept for the rest), then prints it;
# still running at the deadline, a failing test with what it had done so far.
docker_e2e_collect() {
  local file=$1 deadline=${2:-}
  while [ ! -f "$file.done" ]; do
    if [ -n "$deadline" ] && [ "$(date +%s)" -ge $((deadline - 15)) ]; then
      echo "TAP version 14"
      echo "not ok 1 - docker: every image built, the compose stack run end to end # still running at the CI bound"
      sed 's/^/  # /' "$file" 2>/dev/null
      echo "1..1"
      return
    fi
    sleep 2
  done
  cat "$file"
}
