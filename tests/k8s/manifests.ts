/**
 * Helpers over rendered manifests shared by the k8s tests and the Prometheus end-to-end test: schema validation
 * with `kubernetes-models`, `@kubernetes-models/keda` and `@kubernetes-models/prometheus-operator`, lookups, and
 * the extraction of every PromQL expression (ScaledObject triggers, PrometheusRule rules, dashboard targets).
 *
 * @module
 */
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import {
  PodMonitor,
  PrometheusRule,
  ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import type { K8sObject } from "./kustomize.ts";

// deno-lint-ignore no-explicit-any
type ModelClass = new (data: any) => { validate(): void };

/** apiVersion/kind → the model whose `validate()` checks the object against the published schema. */
export const MODELS: Record<string, ModelClass> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
};

/** Kinds with no published model in the npm registry; tests/k8s checks them structurally instead. */
export const UNMODELLED = new Set(["autoscaling.k8s.io/v1/VerticalPodAutoscaler"]);

/** Validates one object with its model; throws with the object's identity in the message. */
export function validateObject(o: K8sObject): void {
  const key = `${o.apiVersion}/${o.kind}`;
  const Model = MODELS[key];
  if (!Model) {
    if (UNMODELLED.has(key)) return;
    throw new Error(`no schema model for ${key} (${o.metadata.name}); add one to MODELS or UNMODELLED`);
  }
  try {
    new Model(structuredClone(o)).validate();
  } catch (err) {
    throw new Error(`${o.kind}/${o.metadata.name}: ${(err as Error).message}`);
  }
}

/** Objects of a kind. */
export function ofKind<T = K8sObject>(objects: K8sObject[], kind: string): (K8sObject & T)[] {
  return objects.filter((o) => o.kind === kind) as (K8sObject & T)[];
}

/** The one object of a kind and name; throws when missing. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in the rendered manifests`);
  return o;
}

/** Whether every key/value of `selector` is among `labels`. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Where a PromQL expression came from. */
export interface PromqlSource {
  /** e.g. `ScaledObject/amas-orchestrator-scaler trigger http-rps`. */
  where: string;
  expr: string;
  kind: "trigger" | "record" | "alert" | "dashboard";
  /** For alerts: the expression left of the final comparison (what the test evaluates). */
  value?: string;
  /** For alerts: the comparison and threshold. */
  threshold?: string;
}

/** Splits `X > 14.4` into value and threshold; alerts in k8s/ are written in that form. */
export function splitAlert(expr: string): { value: string; threshold: string } {
  const m = /^([\s\S]*?)\s*(>=|<=|==|!=|>|<)\s*(-?[0-9.]+(?:e[+-]?\d+)?)\s*$/.exec(expr.trim());
  if (!m) throw new Error(`alert expression must end with '<op> <number>': ${expr}`);
  return { value: m[1], threshold: `${m[2]} ${m[3]}` };
}

/** Every PromQL expression in the rendered objects: triggers, rules and dashboard targets. */
export function extractPromql(objects: K8sObject[]): PromqlSource[] {
  const out: PromqlSource[] = [];
  for (const so of ofKind(objects, "ScaledObject")) {
    const triggers = (so.spec as { triggers: { type: string; name?: string; metadata: Record<string, string> }[] })
      .triggers;
    triggers.forEach((t, i) => {
      if (t.type === "prometheus") {
        out.push({
          where: `ScaledObject/${so.metadata.name} trigger ${t.name ?? i}`,
          expr: t.metadata.query,
          kind: "trigger",
        });
      }
    });
  }
  for (const pr of ofKind(objects, "PrometheusRule")) {
    const groups = (pr.spec as { groups: { name: string; rules: Record<string, string>[] }[] }).groups;
    for (const g of groups) {
      for (const r of g.rules) {
        if (r.record) out.push({ where: `rule ${r.record}`, expr: r.expr, kind: "record" });
        else out.push({ where: `alert ${r.alert}`, expr: r.expr, kind: "alert", ...splitAlert(r.expr) });
      }
    }
  }
  for (const cm of ofKind(objects, "ConfigMap").filter((c) => c.metadata.labels?.grafana_dashboard === "1")) {
    for (const [file, text] of Object.entries(cm.data as Record<string, string>)) {
      const dash = JSON.parse(text) as { panels: { title: string; targets?: { expr: string; refId: string }[] }[] };
      for (const p of dash.panels) {
        for (const t of p.targets ?? []) {
          out.push({ where: `${file} "${p.title}" ${t.refId}`, expr: t.expr, kind: "dashboard" });
        }
      }
    }
  }
  return out;
}

/**
 * Substitutes Grafana's variables the dashboards use, as Grafana would: `$namespace` by the namespace,
 * `$__rate_interval` by a rate window (Grafana: max(4 x scrape interval, step)) and `$__range` by the dashboard's
 * time range.
 */
export function substituteGrafana(
  expr: string,
  vars: { namespace: string; rateInterval: string; range: string },
): string {
  const out = expr.replaceAll("$__rate_interval", vars.rateInterval).replaceAll("$__range", vars.range)
    .replaceAll("${namespace}", vars.namespace).replaceAll("$namespace", vars.namespace);
  if (/\$\w/.test(out)) throw new Error(`unsubstituted Grafana variable in ${expr}`);
  return out;
}
