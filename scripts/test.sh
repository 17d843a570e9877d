#!/usr/bin/env bash
# The one test command: type-checks the whole workspace, then runs every test against the local
# PostgreSQL, Redis and an in-process sandbox HighLevel. Ends with "N passed, M failed".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prepare_workspace
# a private PostgreSQL and Redis of its own, beside those of a start.sh running in this checkout
DATA_DIR=${GHL_CONNECT_DATA_DIR:-$ROOT/.data/test}
trap stop_private_services EXIT
ensure_services "${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" "${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export TEST_POSTGRES_URL=$SERVICES_POSTGRES_URL TEST_REDIS_URL=$SERVICES_REDIS_URL
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
set +e
# GHL_CONNECT_DOCKER_E2E (.ci/run sets it): the images built and the compose stack run
# (scripts/docker/e2e.sh) as one more TAP test in the same stream, so the last line counts it too:
#   after     run here, after the tests
#   parallel  .ci/run started it with the tests; its TAP is in $GHL_CONNECT_DOCKER_E2E_TAP, complete
#             when $GHL_CONNECT_DOCKER_E2E_TAP.done exists (waited for until GHL_CONNECT_CI_DEADLINE)
{
  pnpm exec tap --reporter=tap "$@" 2>&1
  case "${GHL_CONNECT_DOCKER_E2E:-0}" in
    after) bash scripts/docker/e2e.sh --tap 2>&1 ;;
    parallel) docker_e2e_collect "$GHL_CONNECT_DOCKER_E2E_TAP" "${GHL_CONNECT_CI_DEADLINE:-}" ;;
  esac
} | node scripts/tap-summary.mjs
status=${PIPESTATUS[1]}
exit "$status"
