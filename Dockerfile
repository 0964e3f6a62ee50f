# gpu-watcher: multi-stage build on Node 24 LTS (Debian slim; better-sqlite3 12 supports Node 20 to 26).
# Build:  docker build -t gpu-watcher .
# Run:    see docker-compose.yml

# --- build: compile better-sqlite3 and the TypeScript --------------------------------------------
FROM node:24-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev
# better-sqlite3 needs only its compiled addon at run time: drop its sources, the SQLite amalgamation
# and the object files of the build (about 27 MB).
RUN cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node . \
 && rm -rf build deps src binding.gyp \
 && mkdir -p build/Release \
 && mv better_sqlite3.node build/Release/

# --- runtime: the built daemon, its production modules, and nothing to build with ---------------
FROM node:24-slim
# GPU_WATCHER_HTTP: where the daemon serves /healthz, /metrics and the dashboard; 0.0.0.0 so the
# published port reaches it. The HEALTHCHECK reads the same variable, so changing it moves both.
ENV NODE_ENV=production \
    GPU_WATCHER_CONFIG=/config/watcher.yaml \
    GPU_WATCHER_DB=/data/gpu-watcher.db \
    GPU_WATCHER_HTTP=0.0.0.0:9464
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
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
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "scripts/healthcheck.mjs"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["run"]
