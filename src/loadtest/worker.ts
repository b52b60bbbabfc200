/**
 * A Web Worker that runs one share of a load: it receives a scenario and a target, runs it with
 * {@linkcode runScenario}, and posts the result back. Several of them spread the generator over several cores.
 *
 * @module
 */
import { runScenario } from "./runner.ts";
import type { Scenario } from "./scenario.ts";

/** The message a worker expects. */
export interface WorkerJob {
  scenario: Scenario;
  targetUrl: string;
}

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<WorkerJob>) => void) | null;
  postMessage(data: unknown): void;
};

scope.onmessage = async (e) => {
  try {
    const result = await runScenario(e.data.scenario, { targetUrl: e.data.targetUrl });
    scope.postMessage({ result });
  } catch (err) {
    scope.postMessage({ error: String(err) });
  }
};
