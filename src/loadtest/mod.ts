/**
 * The load-testing framework: scenarios, the open and closed load models, HDR-histogram measurement, SLO and
 * baseline verdicts, JSON and HTML reports. The CLI is `cli.ts` (`deno task load`).
 *
 * @module
 */
export {
  applyOverrides,
  defineScenario,
  type Scenario,
  scenarioDurationS,
  type ScenarioInput,
  type ScenarioOverrides,
  scenarioSchema,
  type Slo,
} from "./scenario.ts";
export { type Progress, type RunOptions, runScenario } from "./runner.ts";
export { type Baseline, readBaseline, type RunResult } from "./result.ts";
export { type CompareOptions, compareRuns, evaluateSlo, steadyWindows } from "./verdicts.ts";
export { LatencyHistogram, type LatencySummary } from "./histogram.ts";
export { mannWhitneyGreater, median, quantile } from "./stats.ts";
export { arrivalTimes, RunClock, runClosed, runOpen, vusAt } from "./executor.ts";
export { HttpPool, type HttpRequest, type HttpResponse, ResponseHeaders } from "./http_client.ts";
export { renderHtml } from "./report_html.ts";
export { ProgressPrinter, summaryText } from "./progress.ts";
export { externalTarget, startEmbeddedGateway, type Target } from "./target.ts";
export { LoadMetrics } from "./load_metrics.ts";
