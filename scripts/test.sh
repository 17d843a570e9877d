#!/usr/bin/env bash
# The one test command: type-checks the whole workspace, then runs every test against the local
# PostgreSQL, Redis and an in-process sandbox HighLevel. Ends with "N passed, M failed". Without
# arguments it then runs the pgbouncer target too (scripts/test-pgbouncer.ts: the repositories and
# the intake/send path through a PgBouncer in transaction mode), counted in the same line.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prepare_workspace
ensure_test_services
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  say "installing Debian's chromium for the browser test"
  (apt-get install -y chromium >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y chromium >/dev/null)) || echo "chromium could not be installed; the browser test will fail" >&2
fi
say "type-checking the workspace"
pnpm run typecheck
say "running the tests"
# tap compiles its plugin list into node_modules; a fresh install still holds the default list
# (with the TypeScript plugin, which crashes on TypeScript 7), so build it from our config first.
pnpm exec tap build >/dev/null
ensure_pgbouncer || true # packages/testing/test/pgbouncer.test.ts and the pgbouncer target
set +e
{
  pnpm exec tap --reporter=tap "$@" 2>&1
  if [ $# -eq 0 ]; then
    say "running the pgbouncer target (the repositories and the intake/send path through PgBouncer)"
    node --import tsx scripts/test-pgbouncer.ts --reporter=tap 2>&1
  fi
} | node scripts/tap-summary.mjs
status=${PIPESTATUS[1]}
exit "$status"
