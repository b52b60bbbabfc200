/**
 * Configuration of the cluster scaling metrics: in Kubernetes (the service account's environment is present) the
 * gateway reads its Deployments' replicas and the HPA status from the API, read-only, and exports
 * `amas_current_replicas`, `amas_scaling_events_total`, `amas_scaling_duration_seconds` and
 * `amas_scaling_effectiveness`.
 *
 * @module
 */
import { z } from "zod";
import { millis } from "../config_fields.ts";

/** The `scaling` configuration section. */
export const scalingConfigSchema = z.object({
  watch: z.enum(["auto", "on", "off"]).default("auto")
    .describe("AMAS_SCALING_WATCH: read scaling metrics from the Kubernetes API (auto: when running in a cluster)"),
  deployments: z.preprocess(
    (v) => typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v,
    z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "Deployment names are DNS labels")).min(1),
  ).default(["amas-orchestrator", "amas-worker-general", "amas-worker-research-agent"])
    .describe("AMAS_SCALING_DEPLOYMENTS: the Deployments to watch (comma-separated)"),
  self: z.string().default("amas-orchestrator")
    .describe(
      "AMAS_SCALING_SELF: this pod's Deployment; only its first ready pod (by name) exports, so series are not multiplied",
    ),
  intervalMs: millis.min(1000).default(15_000)
    .describe("AMAS_SCALING_INTERVAL_MS: how often the API is read (the HPA's own sync period by default)"),
  rpsMetric: z.string().default("http-rps")
    .describe("AMAS_SCALING_RPS_METRIC: the HPA metric whose per-pod average is requests per replica"),
  kubernetesHost: z.string().optional().describe("KUBERNETES_SERVICE_HOST (set by Kubernetes)"),
  kubernetesPort: z.coerce.number().int().min(1).max(65535).default(443).describe("KUBERNETES_SERVICE_PORT"),
  namespace: z.string().optional().describe("POD_NAMESPACE (downward API); else the service account's namespace"),
  podName: z.string().optional().describe("POD_NAME (downward API)"),
});

/** The validated `scaling` section. */
export type ScalingConfig = z.infer<typeof scalingConfigSchema>;
