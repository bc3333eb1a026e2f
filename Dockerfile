# syntax=docker/dockerfile:1
# poolsync daemon image. Build: docker build -t poolsync .   (docs/daemon.md, "Docker")
# Node 24 LTS, the line poolsync is benchmarked and tested on (README, "Requirements");
# poolsync itself supports Node >= 20.19.
ARG NODE_VERSION=24

# --- build: compile TypeScript and bundle the CLI, then keep only production dependencies -
FROM node:${NODE_VERSION}-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle.mjs ./scripts/
RUN npm run build && npm prune --omit=dev --ignore-scripts

# --- runtime -----------------------------------------------------------------------------
FROM node:${NODE_VERSION}-slim
# git for the config repository, openssh-client for ssh:// remotes, tini as PID 1 so
# SIGTERM reaches node and zombies (git children) are reaped.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 poolsync \
 && useradd --system --uid 10001 --gid poolsync --home-dir /var/lib/poolsync --shell /usr/sbin/nologin poolsync \
 && mkdir -p /var/lib/poolsync \
 && chown poolsync:poolsync /var/lib/poolsync

WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY schemas ./schemas
COPY examples ./examples

# Inside a container the server must be reachable from outside it: listen on every interface.
# The state (Git checkout, apply lock, an embedded control plane if used) lives in the volume.
# A heap cap makes V8 collect before the pod's memory limit rather than after: at 10,000
# objects the daemon holds ~160 MB of heap between runs (bench/README.md).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=256 \
    POOLSYNC_LISTEN=0.0.0.0:8080 \
    POOLSYNC_STATE_DIR=/var/lib/poolsync/daemon \
    POOLSYNC_LOG_FORMAT=json

USER 10001:10001
WORKDIR /var/lib/poolsync
VOLUME ["/var/lib/poolsync"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=(process.env.POOLSYNC_LISTEN||'').split(':').pop()||'8080';fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/main.js"]
CMD ["daemon"]
