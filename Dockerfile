# syntax=docker/dockerfile:1
#
# GregorMQ broker image.
#
#   docker build -t gregormq .
#   docker network create gregor
#   docker run -d --name n1 --network gregor -v n1:/data gregormq
#   docker run -d --name n2 --network gregor -v n2:/data gregormq   # finds n1 by mDNS
#
# Ports: 9440 client protocol, 9441 HTTP (/metrics, /health/*, /v1 admin), 9442 cluster (libp2p).
# Every GREGOR_* variable and every broker flag works here; flags go after the image name.
# tini is PID 1, so `docker run --init` is not needed (it would only add a second init).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, then drop dev dependencies -------------------------------------
FROM ${NODE_IMAGE} AS build
# cbor-extract (cbor-x's optional native decoder) has no prebuilt package in the lockfile, so its
# install script compiles it with node-gyp; without a toolchain cbor-x silently falls back to JS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the root `prepare` script compiles sources that are not copied yet (and this
# layer should stay cached while only sources change). The one dependency that needs its install
# script is rebuilt right below.
RUN npm ci --ignore-scripts --no-audit --no-fund
RUN npm rebuild cbor-extract --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY cli ./cli
# tsconfig also includes test/ and bench/; they are not copied, so only dist/src and dist/cli are
# built, then bundled into dist/bundle/ (what the binaries run).
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="GregorMQ" \
      org.opencontainers.image.description="Durable, partitioned message broker that grows into a self-organising cluster" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# A numeric, non-root user so Kubernetes can verify runAsNonRoot; /data is its only writable place.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gregor \
 && useradd --system --uid 10001 --gid gregor --home-dir /data --no-create-home --shell /usr/sbin/nologin gregor \
 && mkdir -p /data \
 && chown 10001:10001 /data

WORKDIR /app
# Application files stay owned by root: the broker cannot rewrite its own code.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# `docker exec <container> gregorctl cluster` works without knowing where the package lives.
RUN printf '#!/bin/sh\nexec node /app/dist/bundle/gregorctl.js "$@"\n' > /usr/local/bin/gregorctl \
 && printf '#!/bin/sh\nexec node /app/dist/bundle/gregormq.js "$@"\n' > /usr/local/bin/gregormq \
 && chmod 0755 /usr/local/bin/gregorctl /usr/local/bin/gregormq

ENV NODE_ENV=production \
    GREGOR_DATA_DIR=/data \
    GREGOR_LOG_LEVEL=info

VOLUME ["/data"]
EXPOSE 9440 9441 9442

USER 10001:10001

# Liveness only (is the event loop answering?); readiness is Kubernetes' job and depends on the
# cluster. Node's built-in fetch stands in for curl, which the slim image does not have.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GREGOR_HTTP_PORT||9441)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# SIGTERM (docker stop, a pod deletion) makes the node leave the cluster gracefully; tini forwards
# it and reaps zombies. Give it time: `docker stop -t 30`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/bundle/gregormq.js"]
CMD ["--data-dir", "/data"]
