# The worker image for docker-compose.yml: the project's own code run with tsx (no build step).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev
COPY lib ./lib
COPY activities ./activities
COPY workflows ./workflows
COPY worker ./worker
COPY client ./client
COPY local ./local
COPY bin ./bin
COPY tsconfig.json ./
USER node
CMD ["node", "--import", "tsx", "worker/main.ts"]
