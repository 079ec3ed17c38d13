import { changeEventSchema } from '../../schemas/change-event.ts';
import { registryRequest, valueSubject } from '../../schemas/registry.ts';
import type { ShardlineConfig } from '../config/schema.ts';
import { codecOf, topicsFor } from '../pipeline.ts';

/** Registers the change-event schema under every topic's subject with the configured compatibility. */
export async function registerSchemas(config: ShardlineConfig): Promise<{ subject: string; id: number }[]> {
  const codec = codecOf(config);
  return Promise.all(
    topicsFor(config).map(async (topic) => ({ subject: valueSubject(topic), id: await codec.schemaId(topic) })),
  );
}

/** Asks the registry whether this build's schema is compatible with what each subject holds. */
export async function checkSchemas(
  config: ShardlineConfig,
): Promise<{ subject: string; compatible: boolean; detail: string }[]> {
  return Promise.all(
    topicsFor(config).map(async (topic) => {
      const subject = valueSubject(topic);
      const response = await registryRequest(
        config.registry,
        `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`,
        'POST',
        { schema: changeEventSchema, schemaType: 'AVRO' },
      );
      if (response.status === 404) return { subject, compatible: true, detail: 'not registered yet' };
      const body = JSON.parse(response.body) as { is_compatible?: boolean; message?: string };
      return {
        subject,
        compatible: body.is_compatible === true,
        detail: body.message ?? (body.is_compatible ? 'compatible' : 'incompatible'),
      };
    }),
  );
}
