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

ensure_services() {
  local pg_url=${1:-postgres://postgres@127.0.0.1:5432/postgres} redis_url=${2:-redis://127.0.0.1:6379}
  local pg_host pg_port redis_host redis_port missing=()
  pg_host=$(url_host "$pg_url"); pg_port=$(url_port "$pg_url" 5432)
  redis_host=$(url_host "$redis_url"); redis_port=$(url_port "$redis_url" 6379)
  port_open "$pg_host" "$pg_port" || missing+=(postgres)
  port_open "$redis_host" "$redis_port" || missing+=(redis)
  [ ${#missing[@]} -eq 0 ] && return 0
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    say "starting ${missing[*]} with docker compose"
    (cd "$ROOT" && docker compose up -d --wait "${missing[@]}")
    return 0
  fi
  echo "Not reachable: ${missing[*]} (PostgreSQL at $pg_host:$pg_port, Redis at $redis_host:$redis_port), and no Docker engine to start them." >&2
  echo "Start them, for example:" >&2
  for m in "${missing[@]}"; do
    case $m in
      postgres) echo "  PostgreSQL 15: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start   (or: docker compose up -d postgres)" >&2 ;;
      redis) echo "  Redis 7:       redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no   (or: docker compose up -d redis)" >&2 ;;
    esac
  done
  exit 1
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
