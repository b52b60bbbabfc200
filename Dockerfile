# The AMAS gateway image (also runs the job workers: same image, entry module src/jobs/worker_main.ts).
#
# Build stage: the toolchain for the native hnswlib-node addon (python3, make, g++, Node's headers) runs
# `deno task setup` (deno install --frozen + the addon build) and caches every module the entry points import.
# Runtime stage: the official Deno image with only /app copied in, owned by root and read-only to the `deno` user
# (uid 1993) the container runs as; DENO_DIR is baked in, and the start command uses --cached-only and --frozen so
# nothing is fetched or written at run time (the pod's root filesystem is read-only; /tmp and /data are emptyDirs).
# docs/KUBERNETES.md; tests/k8s/dockerfile_test.ts checks these properties statically and runs the same command
# on a read-only filesystem without network.

ARG DENO_VERSION=2.9.6

FROM denoland/deno:${DENO_VERSION} AS build
# Debian's nodejs ships node-gyp's runtime and libnode-dev the N-API headers, so the addon builds without
# downloading Node headers. Build tools stay in this stage.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ nodejs libnode-dev ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV DENO_DIR=/app/.deno \
    DENO_NO_UPDATE_CHECK=1
WORKDIR /app
COPY deno.json deno.lock ./
COPY src ./src
RUN deno task setup
# Type-check-free cache of both entry points' module graphs into DENO_DIR, so --cached-only finds everything.
RUN deno cache --frozen src/main.ts src/jobs/worker_main.ts

FROM denoland/deno:${DENO_VERSION}
ENV DENO_DIR=/app/.deno \
    DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1 \
    AMAS_HOST=0.0.0.0 \
    AMAS_PORT=8000 \
    AMAS_DATA_DIR=/data
WORKDIR /app
# Owned by root: the process (uid 1993) can read its code and cache but never change them.
COPY --from=build --chown=root:root /app /app
# 1993 = the `deno` user of the official image; numeric so Kubernetes' runAsNonRoot can verify it.
USER 1993:1993
EXPOSE 8000 9464
# The flags of `deno task serve` (deno.json) plus --cached-only/--frozen. Not `deno task serve` itself: that task
# depends on `setup`, which runs `deno install` (writes node_modules) at every start.
ENTRYPOINT ["deno", "run", "--v8-flags=--max-semi-space-size=8", "--cached-only", "--frozen", "--allow-net", "--allow-env", "--allow-read", "--allow-write=/tmp,/data", "--allow-ffi", "--allow-sys"]
CMD ["src/main.ts"]
