# syntax=docker/dockerfile:1
# The Tandem server. Build: docker build -t tandem . ; run: see docker-compose.yml.
# deploy/check-runtime-stage.mjs replays this file's final stage without Docker.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
COPY persistence/package.json persistence/
COPY server/package.json server/
COPY editor/package.json editor/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=1234 DATA_DIR=/data
WORKDIR /app
# Only what `node server/dist/main.js` reads: the compiled workspaces, the SQL migrations, the
# editor's web build (served) and its compiled schema (imported by the server's export/import).
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/persistence/package.json persistence/
COPY --from=build /app/persistence/dist persistence/dist
COPY --from=build /app/persistence/migrations persistence/migrations
COPY --from=build /app/editor/package.json editor/
COPY --from=build /app/editor/dist editor/dist
COPY --from=build /app/editor/dist-schema editor/dist-schema
COPY --from=build /app/server/package.json server/
COPY --from=build /app/server/dist server/dist
# Production dependencies of the server and of the workspaces it imports (persistence, editor).
RUN npm ci --omit=dev --workspace server --no-audit --no-fund && npm cache clean --force
# The LevelDB directory of a single-container run; with DATABASE_URL it stays empty.
RUN mkdir /data && chown node:node /data
USER node
EXPOSE 1234
# No curl in the image: Node's own fetch asks the server it runs.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 1234) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "server/dist/main.js"]
