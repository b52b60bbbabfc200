/**
 * Autoscaling: the offline KEDA/HPA simulator (`deno task scale`) and, in a cluster, the scaling metrics read from
 * the Kubernetes API.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { Telemetry } from "../telemetry/telemetry.ts";
import type { ScalingConfig } from "./config.ts";
import { KubeClient } from "./k8s_client.ts";
import { ScalingWatcher } from "./metrics.ts";

export * from "./hpa.ts";
export * from "./scaler_spec.ts";
export * from "./simulator.ts";
export * from "./timeline.ts";
export { loadManifests, parseManifests } from "./manifests.ts";
export { renderReport } from "./report.ts";
export { recordTimeline } from "./record.ts";
export { ScalingWatcher } from "./metrics.ts";
export type { ScalingConfig } from "./config.ts";

/**
 * Starts the cluster scaling metrics when running in Kubernetes (or when forced on); returns a closer, or undefined
 * when not watching. A failure to connect is logged and leaves the gateway running without these metrics.
 */
export async function startScalingMetrics(
  config: ScalingConfig,
  deps: { telemetry: Telemetry; logger: Logger },
): Promise<(() => void) | undefined> {
  const enabled = config.watch === "on" || (config.watch === "auto" && config.kubernetesHost !== undefined);
  if (!enabled) return undefined;
  if (!config.kubernetesHost) {
    deps.logger.warn("scaling metrics: AMAS_SCALING_WATCH=on but KUBERNETES_SERVICE_HOST is not set; not watching");
    return undefined;
  }
  let client: KubeClient;
  try {
    client = await KubeClient.inCluster(config.kubernetesHost, config.kubernetesPort, config.namespace);
  } catch (err) {
    deps.logger.warn("scaling metrics: no service account credentials; not watching", { err: String(err) });
    return undefined;
  }
  const watcher = new ScalingWatcher(client, deps.telemetry, {
    deployments: config.deployments,
    self: config.self,
    podName: config.podName,
    rpsMetric: config.rpsMetric,
    logger: deps.logger,
  });
  watcher.start(config.intervalMs);
  return () => {
    watcher.stop();
    client.close();
  };
}
