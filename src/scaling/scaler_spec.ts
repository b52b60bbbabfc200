/**
 * What the simulator needs to know about an autoscaler, read from a KEDA `ScaledObject` (or a plain
 * `HorizontalPodAutoscaler`, for the `hpa-only` overlay) and the Deployment it scales: the triggers with their
 * targets, activation thresholds and metric types, min/max, polling and cooldown, fallback, and the HPA behaviour
 * KEDA passes through.
 *
 * @module
 */
import type { K8sObject } from "./manifests.ts";
import { type BehaviorSpec, type HpaBehavior, type HpaMetric, type MetricTargetType, resolveBehavior } from "./hpa.ts";

/** One trigger (KEDA) or metric (HPA), as the HPA sees it. */
export interface TriggerSpec {
  /** Its name: the key of its values in a timeline. */
  name: string;
  /** KEDA trigger type (`prometheus`, `redis-streams`, `cpu`, `memory`, …) or `resource`/`external` for an HPA. */
  type: string;
  metric: HpaMetric;
  /** KEDA: above this value the trigger is active (only decides 0 ↔ 1 when minReplicaCount is 0). */
  activation: number;
  /** The PromQL of a prometheus trigger (what `deno task scale record` samples). */
  query?: string;
  /** For cpu/memory triggers: which resource. */
  resource?: "cpu" | "memory";
}

/** An autoscaler, ready to simulate. */
export interface ScalerSpec {
  kind: "ScaledObject" | "HorizontalPodAutoscaler";
  name: string;
  target: { kind: string; name: string };
  /** KEDA minReplicaCount (0 allows scale to zero) or HPA minReplicas. */
  minReplicas: number;
  maxReplicas: number;
  pollingIntervalSeconds: number;
  cooldownPeriodSeconds: number;
  idleReplicaCount?: number;
  fallback?: { failureThreshold: number; replicas: number };
  behavior: HpaBehavior;
  triggers: TriggerSpec[];
  /** Per-pod requests of the target Deployment (summed over containers), for Utilization metrics. */
  requests: { cpuCores?: number; memoryBytes?: number };
}

const SUFFIX: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** A Kubernetes quantity (`500m`, `1.5`, `512Mi`, `1G`) as a number (cores or bytes). */
export function parseQuantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^([0-9.]+(?:e[+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m || (m[2] && !(m[2] in SUFFIX))) throw new Error(`cannot read the quantity "${q}"`);
  if (m[2] === "m") return Number(m[1]) / 1000;
  return Number(m[1]) * (m[2] ? SUFFIX[m[2]] : 1);
}

function num(v: unknown, what: string): number {
  const n = typeof v === "number" ? v : parseQuantity(String(v));
  if (!Number.isFinite(n)) throw new Error(`${what}: not a number: ${v}`);
  return n;
}

/** The KEDA trigger's target and activation threshold. */
function kedaTarget(type: string, md: Record<string, unknown>, where: string): { target: number; activation: number } {
  const pick = (...keys: string[]) => keys.map((k) => md[k]).find((v) => v !== undefined && v !== "");
  if (type === "redis-streams") {
    if (md.lagCount !== undefined) {
      return { target: num(md.lagCount, `${where}.lagCount`), activation: num(md.activationLagCount ?? 0, where) };
    }
    if (md.streamLength !== undefined) {
      return {
        target: num(md.streamLength, `${where}.streamLength`),
        activation: num(md.activationStreamLength ?? 0, where),
      };
    }
    return { target: num(md.pendingEntriesCount ?? 5, `${where}.pendingEntriesCount`), activation: 0 };
  }
  if (type === "cpu" || type === "memory") return { target: num(md.value, `${where}.value`), activation: 0 };
  const target = pick("threshold", "targetValue", "value", "targetQueueLength", "queueLength", "lagThreshold");
  if (target === undefined) throw new Error(`${where}: trigger type ${type} has no threshold the simulator knows`);
  const activation = pick("activationThreshold", "activationTargetValue", "activationValue", "activationQueueLength");
  return {
    target: num(target, `${where}.threshold`),
    activation: activation === undefined ? 0 : num(activation, where),
  };
}

function requestsOf(objects: K8sObject[], target: { kind: string; name: string }): ScalerSpec["requests"] {
  const d = objects.find((o) => o.kind === target.kind && o.metadata.name === target.name);
  const containers = ((d?.spec?.template as { spec?: { containers?: unknown[] } })?.spec?.containers ?? []) as {
    resources?: { requests?: Record<string, string> };
  }[];
  let cpu: number | undefined;
  let memory: number | undefined;
  for (const c of containers) {
    const r = c.resources?.requests;
    if (r?.cpu !== undefined) cpu = (cpu ?? 0) + parseQuantity(r.cpu);
    if (r?.memory !== undefined) memory = (memory ?? 0) + parseQuantity(r.memory);
  }
  return { cpuCores: cpu, memoryBytes: memory };
}

/** Reads a KEDA ScaledObject. */
export function scaledObjectSpec(so: K8sObject, objects: K8sObject[] = []): ScalerSpec {
  const spec = (so.spec ?? {}) as Record<string, unknown>;
  const where = `ScaledObject ${so.metadata.name}`;
  const ref = (spec.scaleTargetRef ?? {}) as { kind?: string; name?: string };
  if (!ref.name) throw new Error(`${where}: spec.scaleTargetRef.name is missing`);
  const target = { kind: ref.kind ?? "Deployment", name: ref.name };
  const advanced = (spec.advanced ?? {}) as { horizontalPodAutoscalerConfig?: { behavior?: BehaviorSpec } };
  const triggers = ((spec.triggers ?? []) as Record<string, unknown>[]).map((t, i): TriggerSpec => {
    const type = String(t.type);
    const md = (t.metadata ?? {}) as Record<string, unknown>;
    const resource = type === "cpu" || type === "memory" ? type : undefined;
    const defaultType: MetricTargetType = resource ? "Utilization" : "AverageValue";
    const targetType = (t.metricType ?? md.type ?? defaultType) as MetricTargetType;
    const name = String(t.name ?? (resource ?? `${type}-${i}`));
    const { target: value, activation } = kedaTarget(type, md, `${where} trigger ${name}`);
    return {
      name,
      type,
      metric: { name, targetType, target: value },
      activation,
      query: typeof md.query === "string" ? md.query : undefined,
      resource,
    };
  });
  if (triggers.length === 0) throw new Error(`${where}: no triggers`);
  const fallback = spec.fallback as { failureThreshold?: number; replicas?: number } | undefined;
  return {
    kind: "ScaledObject",
    name: so.metadata.name,
    target,
    minReplicas: Number(spec.minReplicaCount ?? 0),
    maxReplicas: Number(spec.maxReplicaCount ?? 100),
    pollingIntervalSeconds: Number(spec.pollingInterval ?? 30),
    cooldownPeriodSeconds: Number(spec.cooldownPeriod ?? 300),
    idleReplicaCount: spec.idleReplicaCount === undefined ? undefined : Number(spec.idleReplicaCount),
    fallback: fallback?.replicas !== undefined
      ? { failureThreshold: Number(fallback.failureThreshold ?? 3), replicas: Number(fallback.replicas) }
      : undefined,
    behavior: resolveBehavior(advanced.horizontalPodAutoscalerConfig?.behavior),
    triggers,
    requests: requestsOf(objects, target),
  };
}

/** Reads a plain autoscaling/v2 HorizontalPodAutoscaler. */
export function hpaSpec(hpa: K8sObject, objects: K8sObject[] = []): ScalerSpec {
  const spec = (hpa.spec ?? {}) as Record<string, unknown>;
  const where = `HorizontalPodAutoscaler ${hpa.metadata.name}`;
  const ref = (spec.scaleTargetRef ?? {}) as { kind?: string; name?: string };
  const target = { kind: ref.kind ?? "Deployment", name: String(ref.name) };
  const triggers = ((spec.metrics ?? []) as Record<string, Record<string, unknown>>[]).map((m, i): TriggerSpec => {
    const type = String(m.type);
    const body = (m.resource ?? m.external ?? m.pods ?? m.object ?? m.containerResource ?? {}) as {
      name?: string;
      metric?: { name?: string };
      target?: { type?: string; averageUtilization?: number; averageValue?: string; value?: string };
    };
    const resourceName = m.resource ? body.name : undefined;
    const name = String(resourceName ?? body.metric?.name ?? `${type.toLowerCase()}-${i}`);
    const t = body.target ?? {};
    const targetType = (t.type ?? "AverageValue") as MetricTargetType;
    const raw = targetType === "Utilization" ? t.averageUtilization : targetType === "Value" ? t.value : t.averageValue;
    if (raw === undefined) throw new Error(`${where}: metric ${name} has no target`);
    return {
      name,
      type: m.resource ? "resource" : type.toLowerCase(),
      metric: { name, targetType, target: num(raw, `${where} metric ${name}`) },
      activation: 0,
      resource: resourceName === "cpu" || resourceName === "memory" ? resourceName : undefined,
    };
  });
  return {
    kind: "HorizontalPodAutoscaler",
    name: hpa.metadata.name,
    target,
    minReplicas: Number(spec.minReplicas ?? 1),
    maxReplicas: Number(spec.maxReplicas),
    pollingIntervalSeconds: 15,
    cooldownPeriodSeconds: 0,
    behavior: resolveBehavior(spec.behavior as BehaviorSpec | undefined),
    triggers,
    requests: requestsOf(objects, target),
  };
}

/** Every autoscaler in a set of objects. */
export function scalerSpecs(objects: K8sObject[]): ScalerSpec[] {
  return objects.flatMap((o) => {
    if (o.kind === "ScaledObject") return [scaledObjectSpec(o, objects)];
    if (o.kind === "HorizontalPodAutoscaler") return [hpaSpec(o, objects)];
    return [];
  });
}
