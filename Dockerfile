# The shardline program: connector and consumer groups from one image, configured by shardline.yaml
# and SHARDLINE_* environment variables (see the README).
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Embedded ClickHouse keeps its data here; mount a volume, or set SHARDLINE_CLICKHOUSE_URL for a server.
ENV SHARDLINE_CONFIG__clickhouse__path=/data/clickhouse SHARDLINE_CONFIG__http__host=0.0.0.0
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && mkdir -p /data && chown node /data
COPY bin ./bin
COPY cli ./cli
COPY connector ./connector
COPY consumers ./consumers
COPY core ./core
COPY schemas ./schemas
COPY stack ./stack
COPY shardline.yaml ./
EXPOSE 9464
USER node
ENTRYPOINT ["node", "bin/shardline.js"]
CMD ["run"]
