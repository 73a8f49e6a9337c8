# The worker (and CLI) image for docker-compose.yml: the project's own TypeScript run with tsx (no build step;
# the worker bundles workflows/ in memory at start). Configuration comes from the environment only (README).
FROM node:20.19-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev && npm cache clean --force
COPY tsconfig.json tsconfig.workflows.json ./
COPY common ./common
COPY platform ./platform
COPY activities ./activities
COPY workflows ./workflows
COPY worker ./worker
COPY client ./client
COPY local ./local
COPY bin ./bin
# Unprivileged at run time; the code is read-only to it.
USER node
# SIGTERM (docker stop) is the graceful path: running activities finish or are cancelled before exit.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "worker/main.ts"]
