/**
 * Metric timelines the simulator replays: recorded from a real Prometheus (`deno task scale record`) or synthetic.
 * A sample holds, per trigger name, the value the trigger's source reported at that time (`null`: the source
 * failed, as when Prometheus is down), and optionally the served request rate (for requests-per-replica).
 *
 * What a value means depends on the trigger, and is independent of how many replicas served the traffic:
 * prometheus/external triggers hold the query's result (the manifests' queries `sum(...)` over all pods);
 * `cpu` holds the cores used in total; `memory` the bytes used per pod; redis-streams the stream count.
 *
 * @module
 */
import { z } from "zod";
import type { ScalerSpec, TriggerSpec } from "./scaler_spec.ts";

/** One point of a timeline. */
export const sampleSchema = z.object({
  t: z.number().min(0).describe("seconds since the start of the timeline"),
  values: z.record(z.string(), z.number().nullable()),
  requestRate: z.number().min(0).optional().describe("requests per second served, all replicas together"),
});

/** A timeline file. */
export const timelineSchema = z.object({
  version: z.literal(1),
  name: z.string().min(1),
  source: z.enum(["recorded", "synthetic"]),
  description: z.string().optional(),
  /** The queries a recorded timeline sampled, by trigger name. */
  queries: z.record(z.string(), z.string()).default({}),
  samples: z.array(sampleSchema).min(1).refine(
    (s) => s.every((x, i) => i === 0 || x.t > s[i - 1].t),
    "samples must be in increasing time order",
  ),
});

/** A validated timeline. */
export type Timeline = z.infer<typeof timelineSchema>;
/** One sample. */
export type Sample = z.infer<typeof sampleSchema>;

/** Reads and validates a timeline file. */
export async function readTimeline(path: string): Promise<Timeline> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new Error(`cannot read the timeline ${path}: ${(err as Error).message}`);
  }
  const parsed = timelineSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path}: ${issue.path.join(".") || "(timeline)"}: ${issue.message}`);
  }
  return parsed.data;
}

/** A deterministic value in [0, 1) for an integer (a hash, so a timeline is the same on every run). */
function noise(i: number): number {
  let t = (i * 0x6d2b79f5 + 0x9e3779b9) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** The synthetic load shapes: requests per second at time `t` seconds, and the timeline length and step. */
export const SYNTHETIC: Record<string, { description: string; seconds: number; step: number; rps(t: number): number }> =
  {
    spike: {
      description: "2 h: 8 RPS, a spike to 300 RPS at 30 min (2 min ramp, 15 min plateau, 5 min ramp down), 8 RPS",
      seconds: 7200,
      step: 15,
      rps(t) {
        const m = t / 60;
        if (m < 30) return 8;
        if (m < 32) return 8 + (300 - 8) * (m - 30) / 2;
        if (m < 47) return 300;
        if (m < 52) return 300 - (300 - 8) * (m - 47) / 5;
        return 8;
      },
    },
    diurnal: {
      description: "24 h: a working day, 5 RPS at night rising to 240 RPS at 14:00, with a lunch dip",
      seconds: 86_400,
      step: 60,
      rps(t) {
        const h = t / 3600;
        const day = h >= 7 && h <= 21 ? Math.sin(Math.PI * (h - 7) / 14) ** 2 : 0;
        const lunch = h >= 12 && h <= 13 ? 0.8 : 1;
        return 5 + 235 * day * lunch;
      },
    },
    bursty: {
      description: "24 h: the diurnal curve with minute-to-minute bursts (seeded noise, −40 % to +60 %)",
      seconds: 86_400,
      step: 60,
      rps(t) {
        const h = t / 3600;
        const day = h >= 7 && h <= 21 ? Math.sin(Math.PI * (h - 7) / 14) ** 2 : 0;
        const lunch = h >= 12 && h <= 13 ? 0.8 : 1;
        return (5 + 235 * day * lunch) * (0.6 + noise(Math.floor(t / 60)));
      },
    },
    steady: {
      description: "1 h at a constant 100 RPS: shows that the tolerance keeps the replica count from flapping",
      seconds: 3600,
      step: 15,
      rps: () => 100,
    },
  };

/** Assumptions that turn a request rate into the other triggers' values in synthetic timelines. */
export interface SyntheticAssumptions {
  /** CPU seconds one request costs (the `cpu` trigger's total cores = rps × this). */
  cpuSecondsPerRequest: number;
  /** Memory per pod as a share of its request (the `memory` trigger is flat). */
  memoryShareOfRequest: number;
  /** The P95 latency reported throughout (no capacity feedback is modelled). */
  latencySeconds: number;
}

/** The defaults of {@linkcode SyntheticAssumptions}. */
export const DEFAULT_ASSUMPTIONS: SyntheticAssumptions = {
  cpuSecondsPerRequest: 0.004,
  memoryShareOfRequest: 0.5,
  latencySeconds: 0.25,
};

/** The value a trigger reports for a request rate, by what its query or type measures. */
function syntheticValue(trigger: TriggerSpec, rps: number, spec: ScalerSpec, a: SyntheticAssumptions): number {
  if (trigger.resource === "cpu") return rps * a.cpuSecondsPerRequest;
  if (trigger.resource === "memory") return (spec.requests.memoryBytes ?? 512 * 1024 ** 2) * a.memoryShareOfRequest;
  const q = trigger.query ?? "";
  if (/requests_total|_requests\b|rate\(/.test(q) && !/duration|latency|bucket/.test(q)) return rps;
  if (/duration|latency|bucket|quantile/.test(q)) return a.latencySeconds;
  // Queues, streams and unknown sources stay quiet: the load is assumed to be served without a backlog.
  return 0;
}

/** A synthetic timeline for the triggers of `spec`. */
export function syntheticTimeline(
  name: string,
  spec: ScalerSpec,
  assumptions: SyntheticAssumptions = DEFAULT_ASSUMPTIONS,
): Timeline {
  const shape = SYNTHETIC[name];
  if (!shape) throw new Error(`unknown synthetic timeline "${name}"; use one of ${Object.keys(SYNTHETIC).join(", ")}`);
  const samples: Sample[] = [];
  for (let t = 0; t <= shape.seconds; t += shape.step) {
    const rps = shape.rps(t);
    const values: Record<string, number> = {};
    for (const trigger of spec.triggers) values[trigger.name] = syntheticValue(trigger, rps, spec, assumptions);
    samples.push({ t, values, requestRate: rps });
  }
  return { version: 1, name, source: "synthetic", description: shape.description, queries: {}, samples };
}
