# syntax=docker/dockerfile:1
#
# One image for every Switchyard process: `scheduler`, `agent` and the client commands
# (`status`, `submit`, …) are arguments of the same entry point. From the repository root:
#
#   docker build -t switchyard:0.1.0 --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
#   docker run --rm switchyard:0.1.0 scheduler --help
#
# The Helm chart in charts/switchyard runs it as user 10001 with a read-only root filesystem.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# node-llama-cpp (a node-agent dependency) ships llama.cpp prebuilt in its npm packages: never let its
# install step download or compile anything.
ENV NODE_LLAMA_CPP_SKIP_DOWNLOAD=true \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false

# The lockfile and every workspace's package.json first, so that a source change reuses this layer.
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY fleet-model/package.json fleet-model/
COPY test-kit/package.json test-kit/
COPY scheduler/package.json scheduler/
COPY node-agent/package.json node-agent/
COPY bench/package.json bench/
COPY cli/package.json cli/
RUN npm ci

COPY tsconfig.base.json tsconfig.json ./
COPY protocol/ protocol/
COPY fleet-model/ fleet-model/
COPY test-kit/ test-kit/
COPY scheduler/ scheduler/
COPY node-agent/ node-agent/
COPY bench/ bench/
COPY cli/ cli/
RUN npm run build \
 && find protocol fleet-model test-kit scheduler node-agent bench cli -path '*/dist/*' \
      \( -name '*.map' -o -name '.tsbuildinfo' \) -delete

# Production dependencies only. node-llama-cpp's optional packages hold llama.cpp for every platform
# and GPU API (CUDA alone is over 500 MB); the agent runs it on the CPU, so only the plain Linux
# builds stay. TypeScript stays installed as node-llama-cpp's optional peer, which only its own CLI
# uses: it goes too.
RUN npm prune --omit=dev \
 && find node_modules/@node-llama-cpp -mindepth 1 -maxdepth 1 \
      ! -name linux-x64 ! -name linux-arm64 -exec rm -rf {} + \
 && rm -rf node_modules/typescript node_modules/@typescript

# What the runtime needs, gathered in /out: the root package.json and node_modules (whose
# @switchyard/* entries link to the workspace folders), and per workspace its package.json, its
# build and its own node_modules where npm nested one.
RUN mkdir -p /out \
 && cp -a package.json node_modules /out/ \
 && for workspace in protocol fleet-model test-kit scheduler node-agent bench cli; do \
      mkdir -p "/out/$workspace" \
      && cp -a "$workspace/package.json" "$workspace/dist" "/out/$workspace/" \
      && if [ -d "$workspace/node_modules" ]; then cp -a "$workspace/node_modules" "/out/$workspace/"; fi; \
    done \
 && cp -a bench/fleets /out/bench/


FROM ${NODE_IMAGE} AS runtime
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="switchyard" \
      org.opencontainers.image.description="Accelerator-aware inference scheduler and node agent for mixed GPU and Trainium fleets, over NATS" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

# A named user for the uid the chart runs as; HOME on /tmp, the one writable place in the pods.
RUN groupadd --gid 10001 switchyard \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin switchyard
ENV NODE_ENV=production \
    NODE_LLAMA_CPP_SKIP_DOWNLOAD=true \
    HOME=/tmp

WORKDIR /app
# `switchyard plan` reads bench/fleets/reference.json by default.
COPY --from=build /out/ /app/

USER 10001:10001
# Scheduler and agent HTTP endpoints (/metrics, /healthz, /readyz; the scheduler's /fleet).
EXPOSE 9464 9465
ENTRYPOINT ["node", "/app/cli/dist/main.js"]
CMD ["--help"]
