# syntax=docker/dockerfile:1
# The keyledger server. Build: docker build -t keyledger .   Run: docs/operations.md, "Container image".
ARG NODE_VERSION=22

# 1. Build: every dependency, then the server, the guard package and the console.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/nestjs/package.json packages/nestjs/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# 2. Production dependencies only. No install scripts, and no optional packages: those are the
#    embedded PostgreSQL's binaries (the image runs against DATABASE_URL) and pg-cloudflare.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/nestjs/package.json packages/nestjs/
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund

# 3. Runtime: the build output and the production dependencies, run as the image's `node` user.
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./
COPY --from=build /app/packages/nestjs/package.json ./packages/nestjs/
COPY --from=build /app/packages/nestjs/dist ./packages/nestjs/dist
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
# Liveness, as docs/operations.md recommends (it does not depend on the database); the image has
# no curl, so node asks. Point load balancers at /health/ready instead.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 and handles SIGTERM (drains, then exits 0): no shell, no npm in between.
CMD ["node", "dist/src/main.js"]
