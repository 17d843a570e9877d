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
  # DPkg::Lock::Timeout (here and in lib.sh and scripts/docker): wait for dpkg's lock instead of failing
  # at once, as when the Docker step (GHL_CONNECT_DOCKER_E2E=parallel) is installing docker.io beside it
  (apt-get -o DPkg::Lock::Timeout=600 install -y chromium >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get -o DPkg::Lock::Timeout=600 install -y chromium >/dev/null)) || echo "chromium could not be installed; the browser test will fail" >&2
fi
say "type-checking the workspace"
pnpm run typecheck
say "running the tests"
# tap compiles its plugin list into node_modules; a fresh install still holds the default list
# (with the TypeScript plugin, which crashes on TypeScript 7), so build it from our config first:
# each test file imports tap's library. The files run under scripts/run-tests.mjs, tap's settings
# without its runner's per-process tracking (that file says why).
pnpm exec tap build >/dev/null
ensure_pgbouncer || true # packages/testing/test/pgbouncer.test.ts and the pgbouncer target
set +e
# GHL_CONNECT_DOCKER_E2E: the images built and the compose stack run (scripts/docker/e2e.sh) as
# one more TAP test in the same stream, so the last line counts it too:
#   after     run here, after the tests
#   parallel  started beside the tests (by .ci/run); its TAP is in $GHL_CONNECT_DOCKER_E2E_TAP, complete
#             when $GHL_CONNECT_DOCKER_E2E_TAP.done exists (waited for until GHL_CONNECT_CI_DEADLINE)
{
  node scripts/run-tests.mjs "$@" 2>&1
  if [ $# -eq 0 ]; then
    say "running the pgbouncer target (the repositories and the intake/send path through PgBouncer)"
    node --import tsx scripts/test-pgbouncer.ts 2>&1
  fi
  case "${GHL_CONNECT_DOCKER_E2E:-0}" in
    after) bash scripts/docker/e2e.sh --tap 2>&1 ;;
    parallel) docker_e2e_collect "$GHL_CONNECT_DOCKER_E2E_TAP" "${GHL_CONNECT_CI_DEADLINE:-}" ;;
  esac
} | node scripts/tap-summary.mjs
status=${PIPESTATUS[1]}
exit "$status"
