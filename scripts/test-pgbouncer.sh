#!/usr/bin/env bash
# The pgbouncer test target alone: the repositories and the intake/send path with every test
# database reached through a private PgBouncer in transaction mode (scripts/test-pgbouncer.ts).
# scripts/test.sh runs it after the main suite; this runs only it. Ends with "N passed, M failed".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prepare_workspace
DATA_DIR=${GHL_CONNECT_DATA_DIR:-$ROOT/.data/test}
trap stop_private_services EXIT
ensure_services "${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" "${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export TEST_POSTGRES_URL=$SERVICES_POSTGRES_URL TEST_REDIS_URL=$SERVICES_REDIS_URL
ensure_pgbouncer || true
pnpm exec tap build >/dev/null
set +e
node --import tsx scripts/test-pgbouncer.ts --reporter=tap "$@" 2>&1 | node scripts/tap-summary.mjs
exit "${PIPESTATUS[1]}"
