/**
 * A small, read-only Kubernetes API client for the scaling metrics: the in-cluster service account (token and CA
 * from the mounted secret), GETs of a Deployment, its HorizontalPodAutoscaler (autoscaling/v2, as KEDA creates
 * it) and the pods of a label selector, and the parsing of their status into what the metrics need.
 *
 * No cluster is available to the test suite: the parsing is tested against API-shaped documents, the HTTP part is
 * exercised only in a cluster.
 *
 * @module
 */

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** What the metrics read of a Deployment. */
export interface DeploymentStatus {
  name: string;
  /** `spec.replicas`: what the autoscaler asked for. */
  specReplicas: number;
  /** `status.readyReplicas` (0 when absent). */
  readyReplicas: number;
  updatedReplicas: number;
  /** Whether the controller has seen the latest spec. */
  observed: boolean;
  /** `spec.selector.matchLabels` as a label selector string. */
  selector?: string;
}

/** What the metrics read of an HPA. */
export interface HpaStatus {
  name: string;
  target: string;
  currentReplicas: number;
  desiredReplicas: number;
  lastScaleTime?: string;
  /** Current values by metric name (external/pods: the average per pod when the target is AverageValue). */
  metrics: Record<string, number>;
}

/** A Kubernetes quantity string (`1500m`, `12`, `2k`) as a number. */
export function quantity(q: unknown): number {
  if (typeof q === "number") return q;
  const m = /^([+-]?[0-9.]+(?:e[+-]?\d+)?)(m|k|M|G|Ki|Mi|Gi)?$/.exec(String(q ?? ""));
  if (!m) return Number.NaN;
  // Milli-units divide (350m → 0.35 exactly, where × 0.001 would give 0.35000000000000003).
  if (m[2] === "m") return Number(m[1]) / 1000;
  const factor: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Number(m[1]) * (m[2] ? factor[m[2]] : 1);
}

/** Parses an `apps/v1` Deployment. */
export function parseDeployment(doc: unknown): DeploymentStatus {
  const d = doc as {
    metadata?: { name?: string; generation?: number };
    spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
    status?: { readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
  };
  if (!d?.metadata?.name) throw new Error("not a Deployment: metadata.name is missing");
  const labels = d.spec?.selector?.matchLabels;
  return {
    name: d.metadata.name,
    specReplicas: d.spec?.replicas ?? 1,
    readyReplicas: d.status?.readyReplicas ?? 0,
    updatedReplicas: d.status?.updatedReplicas ?? 0,
    observed: (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0),
    selector: labels ? Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",") : undefined,
  };
}

/** Parses an `autoscaling/v2` HorizontalPodAutoscaler's status. */
export function parseHpa(doc: unknown): HpaStatus {
  const h = doc as {
    metadata?: { name?: string };
    spec?: { scaleTargetRef?: { name?: string } };
    status?: {
      currentReplicas?: number;
      desiredReplicas?: number;
      lastScaleTime?: string;
      currentMetrics?: {
        type: string;
        external?: { metric?: { name?: string }; current?: { averageValue?: string; value?: string } };
        pods?: { metric?: { name?: string }; current?: { averageValue?: string } };
        resource?: { name?: string; current?: { averageUtilization?: number; averageValue?: string } };
      }[];
    };
  };
  if (!h?.metadata?.name) throw new Error("not a HorizontalPodAutoscaler: metadata.name is missing");
  const metrics: Record<string, number> = {};
  for (const m of h.status?.currentMetrics ?? []) {
    if (m.type === "External" && m.external?.metric?.name) {
      const c = m.external.current ?? {};
      metrics[m.external.metric.name] = quantity(c.averageValue ?? c.value);
    } else if (m.type === "Pods" && m.pods?.metric?.name) {
      metrics[m.pods.metric.name] = quantity(m.pods.current?.averageValue);
    } else if (m.type === "Resource" && m.resource?.name) {
      const c = m.resource.current ?? {};
      metrics[m.resource.name] = c.averageUtilization ?? quantity(c.averageValue);
    }
  }
  return {
    name: h.metadata.name,
    target: h.spec?.scaleTargetRef?.name ?? "",
    currentReplicas: h.status?.currentReplicas ?? 0,
    desiredReplicas: h.status?.desiredReplicas ?? 0,
    lastScaleTime: h.status?.lastScaleTime,
    metrics,
  };
}

/** The names of the ready pods in a `v1` PodList, sorted. */
export function readyPodNames(doc: unknown): string[] {
  const list = doc as {
    items?: {
      metadata?: { name?: string; deletionTimestamp?: string };
      status?: { phase?: string; conditions?: { type: string; status: string }[] };
    }[];
  };
  return (list?.items ?? [])
    .filter((p) =>
      p.status?.phase === "Running" && !p.metadata?.deletionTimestamp &&
      (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
    )
    .map((p) => p.metadata!.name!)
    .sort();
}

/** The in-cluster API client. */
export class KubeClient {
  #base: string;
  #token: string;
  #client: Deno.HttpClient;
  readonly namespace: string;

  private constructor(base: string, token: string, ca: string, namespace: string) {
    this.#base = base;
    this.#token = token;
    this.#client = Deno.createHttpClient({ caCerts: [ca] });
    this.namespace = namespace;
  }

  /** Connects with the pod's service account. */
  static async inCluster(host: string, port: number, namespace?: string): Promise<KubeClient> {
    const token = (await Deno.readTextFile(`${SA_DIR}/token`)).trim();
    const ca = await Deno.readTextFile(`${SA_DIR}/ca.crt`);
    const ns = namespace ?? (await Deno.readTextFile(`${SA_DIR}/namespace`)).trim();
    const h = host.includes(":") ? `[${host}]` : host;
    return new KubeClient(`https://${h}:${port}`, token, ca, ns);
  }

  async #get(path: string): Promise<unknown> {
    const res = await fetch(`${this.#base}${path}`, {
      client: this.#client,
      headers: { authorization: `Bearer ${this.#token}`, accept: "application/json" },
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      throw new Error(`kubernetes API GET ${path}: ${res.status} ${text.slice(0, 200)}`);
    }
    return await res.json();
  }

  /** A Deployment's replicas. */
  async deployment(name: string): Promise<DeploymentStatus> {
    return parseDeployment(await this.#get(`/apis/apps/v1/namespaces/${this.namespace}/deployments/${name}`));
  }

  /** The HPA that scales a Deployment (KEDA's `keda-hpa-*` or a plain one), if any. */
  async hpaFor(deployment: string): Promise<HpaStatus | undefined> {
    const list = await this.#get(`/apis/autoscaling/v2/namespaces/${this.namespace}/horizontalpodautoscalers`) as {
      items?: unknown[];
    };
    return (list.items ?? []).map(parseHpa).find((h) => h.target === deployment);
  }

  /** Ready pods matching a label selector. */
  async readyPods(selector: string): Promise<string[]> {
    return readyPodNames(
      await this.#get(`/api/v1/namespaces/${this.namespace}/pods?labelSelector=${encodeURIComponent(selector)}`),
    );
  }

  close(): void {
    this.#client.close();
  }
}
