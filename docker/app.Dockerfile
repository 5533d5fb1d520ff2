# The gateway and the consumer worker: one image, two commands (see compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=optional
COPY . .
ENV NODE_ENV=production
EXPOSE 4000 9464
CMD ["npx", "tsx", "src/gateway/main.ts"]
