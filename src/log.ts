/**
 * A small structured logger: one JSON object per line on stderr. Request and response text never goes through it
 * unless `AMAS_LOG_BODIES` is on; callers pass ids, sizes and durations.
 *
 * @module
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger that writes JSON lines. */
export class Logger {
  #min: number;
  #fields: Record<string, unknown>;

  constructor(level: LogLevel = "info", fields: Record<string, unknown> = {}) {
    this.#min = RANK[level];
    this.#fields = fields;
  }

  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger {
    const child = new Logger("info", { ...this.#fields, ...fields });
    child.#min = this.#min;
    return child;
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.#write("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.#write("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.#write("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.#write("error", msg, fields);
  }

  #write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (RANK[level] < this.#min) return;
    const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...this.#fields, ...fields });
    console.error(line);
  }
}
