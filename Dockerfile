# gpu-watcher: multi-stage build on Node 20 (Debian slim).
# Build:  docker build -t gpu-watcher .
# Run:    see docker-compose.yml

# --- build: compile better-sqlite3 and the TypeScript --------------------------------------------
FROM node:20-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# --- runtime: the built daemon, its production modules, and nothing to build with ---------------
FROM node:20-slim
ENV NODE_ENV=production \
    GPU_WATCHER_CONFIG=/config/watcher.yaml \
    GPU_WATCHER_DB=/data/gpu-watcher.db
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY schema ./schema
COPY web ./web
COPY scenarios ./scenarios
COPY config ./config
RUN mkdir -p /data /config && chown -R node:node /data
# The image's own unprivileged user.
USER node
VOLUME ["/data"]
EXPOSE 9464
# Healthy while polls succeed: /healthz answers 503 after three schedule periods without one.
# Needs `http:` in the config; the check runs inside the container, so loopback is enough.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:9464/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["run"]
