# One image for every process; docker-compose picks the command. Sources run through tsx.
FROM node:20-bookworm-slim
RUN npm install -g pnpm@12.4.2 && apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pnpm-workspace.yaml pnpm-lock.yaml package.json tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
COPY scripts ./scripts
# the workspace (and its lockfile) includes bench/, so the frozen install must see it
COPY bench ./bench
RUN pnpm install --frozen-lockfile
ENV NODE_ENV=production
USER node
