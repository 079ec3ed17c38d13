import { Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry a process: the connector and every consumer group register on it. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'shardline_process_' });
