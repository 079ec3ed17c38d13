import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { metricsRegistry } from '../../core/metrics.ts';
// Every module that registers metrics on the process registry.
import '../../connector/metrics.ts';
import '../../consumers/runtime/metrics.ts';
import '../../core/http.ts';
import '../../core/progress.ts';

const file = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The Shardline metric names in PromQL expressions. */
const metricNames = (expr: string): string[] => [...expr.matchAll(/\bshardline_[a-z_]+\b/g)].map(([name]) => name);

const dashboardExprs = (): string[] => {
  const dashboard = JSON.parse(file('deploy/grafana/shardline.json')) as { panels: { targets: { expr: string }[] }[] };
  return dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr));
};

const alertExprs = (): string[] => {
  const rules = parse(file('deploy/prometheus/alerts.yml')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  return rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
};

test('every metric the dashboard and the alert rules use is one the code registers', async () => {
  const types = new Map((await metricsRegistry.getMetricsAsJSON()).map((metric) => [metric.name, String(metric.type)]));
  // A histogram is queried through its series: name_bucket, name_sum, name_count.
  const known = (name: string) =>
    types.has(name) || types.get(name.replace(/_(bucket|sum|count)$/, '')) === 'histogram';
  const used = new Set([...dashboardExprs(), ...alertExprs()].flatMap(metricNames));
  assert.ok(used.size >= 15, [...used].join(', '));
  assert.deepEqual(
    [...used].filter((name) => !known(name)),
    [],
  );
});

test('the alert rules cover lag, trim headroom, dead letters, readiness, gaps and fatal errors', () => {
  const exprs = alertExprs().join('\n');
  for (const name of [
    'shardline_consumer_lag',
    'shardline_connector_trim_headroom_seconds',
    'shardline_consumer_dead_letters_total',
    'shardline_connector_dead_letters_total',
    'shardline_ready',
    'shardline_consumer_gaps_total',
    'shardline_consumer_fatal_errors_total',
    'shardline_consumer_end_to_end_seconds_bucket',
  ]) {
    assert.ok(exprs.includes(name), name);
  }
});

test('docker-compose.yml parses and provisions Prometheus (with the rules) and Grafana (with the dashboard)', () => {
  const compose = parse(file('docker-compose.yml')) as { services: Record<string, { volumes?: string[] }> };
  assert.ok(
    compose.services.prometheus?.volumes?.some((volume) => volume.startsWith('./deploy/prometheus/alerts.yml:')),
  );
  assert.ok(compose.services.grafana?.volumes?.some((volume) => volume.startsWith('./deploy/grafana/shardline.json:')));
});
