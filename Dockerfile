# One image per process, each a target of this file (docker compose builds them all):
#   api, worker, ghl-sandbox, and migrate (the db CLI: dist/migrate.js, dist/rotate-keys.js).
# Each holds its compiled dist/ and its production node_modules only (no TypeScript sources, no
# devDependencies, no bench or tests), runs as the user node, and starts with plain node.
# The build stage runs what scripts/test/compiled-build.test.ts runs: pnpm build, scripts/deploy.sh.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN npm install -g pnpm@12.4.2
WORKDIR /src
# the packages named by the lockfile, fetched once per lockfile change (a cached layer)
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
# pnpm applies patches/ (patchedDependencies) when it installs
COPY patches ./patches
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm build && bash scripts/deploy.sh /prod

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
COPY scripts/healthcheck.mjs scripts/generate-env.mjs /opt/ghl-connect/
WORKDIR /app
USER node

# HEALTHCHECKs: --timeout covers node's own start for healthcheck.mjs (past 5 s on a shared, loaded
# machine; the request itself gives up after 3 s)
FROM runtime AS migrate
COPY --from=build /prod/db /app
HEALTHCHECK NONE
CMD ["node", "dist/migrate.js"]

FROM runtime AS ghl-sandbox
COPY --from=build /prod/ghl-sandbox /app
EXPOSE 4010
HEALTHCHECK --interval=10s --timeout=15s --start-period=30s --retries=3 \
  CMD ["node", "/opt/ghl-connect/healthcheck.mjs", "SANDBOX_PORT", "4010", "/_sandbox/stats"]
CMD ["node", "dist/server.js"]

FROM runtime AS worker
COPY --from=build /prod/worker /app
# /healthz, /readyz and /metrics (the configuration's default, 0, serves none)
ENV WORKER_HEALTH_PORT=3001
EXPOSE 3001
HEALTHCHECK --interval=10s --timeout=15s --start-period=30s --retries=3 \
  CMD ["node", "/opt/ghl-connect/healthcheck.mjs", "WORKER_HEALTH_PORT", "3001", "/readyz"]
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=96", "dist/main.js"]

FROM runtime AS api
COPY --from=build /prod/api /app
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=15s --start-period=30s --retries=3 \
  CMD ["node", "/opt/ghl-connect/healthcheck.mjs", "PORT", "3000", "/readyz"]
CMD ["node", "--max-semi-space-size=2", "--max-old-space-size=96", "dist/server.js"]
