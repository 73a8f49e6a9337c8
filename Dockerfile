# The images docker-compose.yml builds from this repository, so Docker runs the same parts the tests run:
#   app        the worker, the CLI and mz-local (our Materialize stand-in): the project's TypeScript run with
#              tsx, with the workflow bundle built once here (npm run bundle) instead of at every worker start;
#   emulators  app plus a Python venv with the pinned moto server from local/requirements.txt (S3, IAM, STS).
# Configuration comes from the environment only (docs/operations.md).
FROM node:24.19.0-bookworm-slim AS app
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
RUN npm run bundle
# Unprivileged at run time; the code is read-only to it.
USER node
# SIGTERM (docker stop) is the graceful path: running activities finish or are cancelled before exit.
STOPSIGNAL SIGTERM
# bin/mz-s3-export-worker sizes the heap (MZ_S3_EXPORT_WORKER_HEAP_MIB, docs/operations.md) and execs node.
CMD ["bin/mz-s3-export-worker"]

FROM app AS emulators
USER root
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r local/requirements.txt
USER node
CMD ["/opt/venv/bin/moto_server", "-H", "0.0.0.0", "-p", "5000"]
