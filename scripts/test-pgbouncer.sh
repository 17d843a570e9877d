#!/usr/bin/env bash
# The pgbouncer test target alone: the repositories and the intake/send path with every test
# database reached through a private PgBouncer in transaction mode (scripts/test-pgbouncer.ts).
# scripts/test.sh runs it after the main suite; this runs only it. Ends with "N passed, M failed".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prepare_workspace
ensure_test_services
ensure_pgbouncer || true
pnpm exec tap build >/dev/null
set +e
node --import tsx scripts/test-pgbouncer.ts "$@" 2>&1 | node scripts/tap-summary.mjs
exit "${PIPESTATUS[1]}"
