# syntax=docker/dockerfile:1.7
# Chronoverse: one image for every role. `docker build -t chronoverse .` then
#   docker run chronoverse migrate
#   docker run chronoverse start --role gateway         (see deploy/ and docs/deployment.md)
# Node 24 runs the TypeScript sources directly (type stripping): there is no compile step.
ARG NODE_IMAGE=node:24-slim

# --- production dependencies only ------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The npm workspace (@chronoverse/client, used by the command line): npm ci links it.
COPY packages/client/package.json ./packages/client/
# --ignore-scripts: no dependency we ship needs an install script (argon2 comes as a prebuilt
# optional package; ssh2's optional native crypto falls back to JavaScript).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- the dashboard: built with Vite into /out/web/dist (served by the gateway at /) ----------------
FROM ${NODE_IMAGE} AS web
WORKDIR /build
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY web ./web
COPY src/domain ./src/domain
RUN node_modules/.bin/vite build --config web/vite.config.ts --outDir /out/web/dist --emptyOutDir

# --- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    CHRONOVERSE_OPS_HOST=0.0.0.0 \
    CHRONOVERSE_OPS_PORT=8081 \
    CHRONOVERSE_RPC_HOST=0.0.0.0 \
    CHRONOVERSE_RPC_PORT=50051 \
    DATA_DIR=/data/pglite
WORKDIR /app
# Owned by root and read-only to the process; only /data (embedded profile) is writable.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY packages/client ./packages/client
COPY migrations ./migrations
COPY --from=web /out/web/dist ./web/dist
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
# The `node` user (uid 1000) of the official image.
USER node
# 8080: gateway HTTP (PORT); 8081: /healthz and /readyz of roles without a gateway
# (CHRONOVERSE_OPS_PORT); 50051: gRPC of the users, workflows and jobs roles (CHRONOVERSE_RPC_PORT).
EXPOSE 8080 8081 50051
# Liveness of whichever HTTP server this process runs: the gateway on PORT, or the operations
# server on CHRONOVERSE_OPS_PORT. `node -e` because the slim image has neither curl nor wget.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const ports=[process.env.PORT||'8080',process.env.CHRONOVERSE_OPS_PORT].filter((p)=>p&&p!=='0');Promise.any(ports.map((p)=>fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(3000)}).then((r)=>{if(!r.ok)throw new Error(String(r.status));}))).then(()=>process.exit(0),()=>process.exit(1));"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--liftoff-only", "src/cli/main.ts"]
CMD ["start"]
