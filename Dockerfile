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
COPY scripts/bundle.mjs scripts/build-if-stale.mjs ./scripts/
# No audit or funding request over the network: the build sends nothing but the registry's own.
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# --- opa: the Open Policy Agent `--policies` evaluates with (docs/policies.md), built from its Go
# module at the version and hash scripts/install-opa.sh pins; a static binary (CGO off).
FROM golang:1.26-bookworm AS opa
ARG OPA_VERSION=v1.22.3
ARG OPA_SUM=h1:d46phjoHHFSl8F2bC8nT8wFxuGEvZRvs8FhYWFqsJ2w=
RUN test "$(go mod download -json github.com/open-policy-agent/opa@${OPA_VERSION} | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')" = "${OPA_SUM}" \
 && CGO_ENABLED=0 GOBIN=/out go install -trimpath -ldflags="-s -w" github.com/open-policy-agent/opa@${OPA_VERSION}

# --- runtime -----------------------------------------------------------------------------
FROM node:${NODE_VERSION}-slim
# git for the config repository, openssh-client for ssh:// remotes, tini as PID 1 so
# SIGTERM reaches node and zombies (git children) are reaped. A repository mounted into the
# container belongs to the host's uid, not 10001: git refuses it ("dubious ownership") unless
# the system configuration trusts it; the container runs nothing but poolsync.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*' \
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
COPY scripts/healthcheck.mjs ./healthcheck.mjs
# On the PATH, where `--policies` and the daemon's policies find it (docs/policies.md).
COPY --from=opa /out/opa /usr/local/bin/opa
# `poolsync` on the PATH, as `npm install -g` links it: the commands the daemon and the docs
# print (`poolsync state list`, `docker exec … poolsync status`) run as printed.
RUN chmod 0755 /app/dist/cli/main.js && ln -s /app/dist/cli/main.js /usr/local/bin/poolsync

# Inside a container the server must be reachable from outside it: listen on every interface.
# The state (Git checkout, apply lock, an embedded control plane if used) lives in the volume.
# A heap cap makes V8 collect before the pod's memory limit rather than after: at 10,000
# objects the daemon's heap reaches ~200 MB between full collections (docs/daemon.md#memory;
# examples/deploy adds the daemon's young-generation cap, not set here for one-shot commands).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=256 \
    POOLSYNC_LISTEN=0.0.0.0:8080 \
    POOLSYNC_STATE_DIR=/var/lib/poolsync/daemon \
    POOLSYNC_LOG_FORMAT=json

USER 10001:10001
WORKDIR /var/lib/poolsync
VOLUME ["/var/lib/poolsync"]
EXPOSE 8080

# Kept only in the Docker image format: an OCI-format build (podman and buildah by default)
# drops it; there, `--format docker`, or `podman run --health-cmd 'node /app/healthcheck.mjs'`.
# Kubernetes ignores it: its probes are httpGet /healthz and /readyz (docs/daemon.md, Docker).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs"]

ENTRYPOINT ["/usr/bin/tini", "--", "poolsync"]
CMD ["daemon"]
