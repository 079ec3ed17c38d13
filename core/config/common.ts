import { z } from 'zod';

/** Shared building blocks of the config schema, each with the message a user sees when it does not fit. */
export const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, for example 127.0.0.1:9092');
export const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
export const positiveInt = z.number().int().positive();
export const duration = z.number().int().nonnegative();
export const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, dot, dash or underscore');
export const secret = z.string().min(1);

export const backoffSchema = z.strictObject({
  baseMs: positiveInt.default(100),
  maxMs: positiveInt.default(10_000),
});

/** Reports a config problem at a key below the part being checked; the loader prefixes the part's own key. */
export type ReportProblem = (path: PropertyKey[], message: string) => void;

/** Marks the issues of cross-field checks, whose messages name the values they compare. */
export const CROSS_FIELD = 'crossField';

/** A ReportProblem that adds the problem to a zod refinement at `base` + its path. */
export const reportAt =
  (context: z.RefinementCtx, base: PropertyKey[]): ReportProblem =>
  (path, message) =>
    context.addIssue({ code: 'custom', path: [...base, ...path], message, params: { [CROSS_FIELD]: true } });
