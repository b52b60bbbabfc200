/**
 * The load generator's HTTP/1.1 client: a pool of raw keep-alive TCP connections that writes pre-encoded requests
 * and parses just enough of the response (status, the headers a load test reads, `Content-Length` or chunked
 * bodies). `fetch` costs several times more CPU per request than this, and on a shared 2-core machine the
 * generator's CPU is taken from the target: a cheap client is what lets the measured numbers be the target's.
 *
 * Only plain `http://` targets are supported (load only ever runs against 127.0.0.1); no pipelining, one request
 * in flight per connection.
 *
 * @module
 */

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();
const CONTENT_RE = /"content":"[^"]/;

/** One request to send. */
export interface HttpRequest {
  method: string;
  /** Path and query, e.g. `/v1/chat/completions`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Parse the body as server-sent events and time the first content token. */
  stream?: boolean;
  /** Return the body text (otherwise it is only counted). */
  keepBody?: boolean;
  /** Give up after this long: the connection is closed and `send` throws a {@linkcode TimeoutError}. */
  timeoutMs?: number;
}

/**
 * A kept-alive connection the server had already closed (idle timeout): it failed before a single byte of the answer
 * came back, so the request can be sent again on a fresh connection.
 */
class StaleConnectionError extends Error {
  override name = "StaleConnectionError";
}

/** The request took longer than its `timeoutMs`. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** What came back. Times are `performance.now()` values. */
export interface HttpResponse {
  status: number;
  /** Response headers (case-insensitive lookup). */
  headers: ResponseHeaders;
  bodyBytes: number;
  /** When the response head was complete. */
  headAt: number;
  /** Streams only: when the first chunk carrying content text arrived. */
  firstTokenAt?: number;
  body?: string;
}

/**
 * The headers of a response, looked up on demand in the raw head: a load test reads four or five of them, and
 * splitting every head into a map cost more CPU than the rest of the response handling.
 */
export class ResponseHeaders {
  #lower: string;
  #raw: string;

  constructor(raw: string) {
    this.#raw = raw;
    this.#lower = raw.toLowerCase();
  }

  /** The value of header `name` (case-insensitive), trimmed; undefined when absent. */
  get(name: string): string | undefined {
    const key = `\r\n${name.toLowerCase()}:`;
    const at = this.#lower.indexOf(key);
    if (at < 0) return undefined;
    const from = at + key.length;
    const end = this.#raw.indexOf("\r\n", from);
    return this.#raw.slice(from, end < 0 ? undefined : end).trim();
  }

  /** Whether header `name` is present. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

/** A buffered reader over one connection. */
class Connection {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;
  closed = false;
  /** `performance.now()` after which the request in flight on this connection has timed out. */
  deadline = Number.POSITIVE_INFINITY;
  timedOut = false;
  /** Bytes of the current answer received so far (0 until the server said anything). */
  received = 0;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed by the peer */ }
  }

  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    try {
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
    } catch (err) {
      if (this.received === 0 && !this.timedOut) throw new StaleConnectionError(String(err));
      throw err;
    }
  }

  /** Reads more bytes into the buffer (compacting or growing it); throws on EOF. */
  async #fill(): Promise<void> {
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else {
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
    }
    let n: number | null;
    try {
      n = await this.#conn.read(this.#buf.subarray(this.#end));
    } catch (err) {
      if (this.received === 0 && !this.timedOut) throw new StaleConnectionError(String(err));
      throw err;
    }
    if (n === null) {
      if (this.received === 0 && !this.timedOut) throw new StaleConnectionError("closed before answering");
      throw new Error("connection closed by the target");
    }
    this.received += n;
    this.#end += n;
  }

  /** Index just past the next CRLF at or after `from`, or -1. */
  #lineEnd(from: number): number {
    for (let i = from + 1; i < this.#end; i++) if (this.#buf[i] === 10 && this.#buf[i - 1] === 13) return i + 1;
    return -1;
  }

  /** Reads the response head; returns status, headers and when it completed. */
  async readHead(): Promise<{ status: number; headers: ResponseHeaders; at: number }> {
    // Bytes already scanned, relative to #start (#fill may move the data to the front of the buffer).
    let scanned = 0;
    while (true) {
      // Native indexOf finds each LF; only those are checked for the CR LF CR LF that ends the head.
      const view = this.#buf.subarray(0, this.#end);
      for (let i = view.indexOf(10, this.#start + Math.max(scanned, 3)); i >= 0; i = view.indexOf(10, i + 1)) {
        if (this.#buf[i - 1] === 13 && this.#buf[i - 2] === 10 && this.#buf[i - 3] === 13) {
          const at = performance.now();
          // The head up to and including the CR LF that ends the last header line.
          const text = latin1.decode(this.#buf.subarray(this.#start, i - 1));
          this.#start = i + 1;
          const status = Number(text.slice(9, 12));
          if (!text.startsWith("HTTP/1.") || !Number.isInteger(status)) {
            throw new Error(`not an HTTP/1.x response: ${text.slice(0, 40)}`);
          }
          return { status, headers: new ResponseHeaders(text), at };
        }
      }
      scanned = Math.max(0, this.#end - this.#start - 3);
      await this.#fill();
    }
  }

  /** Consumes exactly `n` body bytes, handing each piece to `onData`. */
  async skip(n: number, onData?: (bytes: Uint8Array) => void): Promise<void> {
    while (n > 0) {
      if (this.#start === this.#end) await this.#fill();
      const take = Math.min(n, this.#end - this.#start);
      onData?.(this.#buf.subarray(this.#start, this.#start + take));
      this.#start += take;
      n -= take;
    }
  }

  /** Reads one CRLF-terminated line (without the CRLF). */
  async line(): Promise<string> {
    while (true) {
      const end = this.#lineEnd(this.#start);
      if (end > 0) {
        const text = latin1.decode(this.#buf.subarray(this.#start, end - 2));
        this.#start = end;
        return text;
      }
      await this.#fill();
    }
  }

  /** Reads until the peer closes (bodies without length on `Connection: close`). */
  async drain(onData?: (bytes: Uint8Array) => void): Promise<void> {
    while (true) {
      if (this.#start < this.#end) {
        onData?.(this.#buf.subarray(this.#start, this.#end));
        this.#start = this.#end;
      }
      try {
        await this.#fill();
      } catch {
        return;
      }
    }
  }
}

/** Options for {@linkcode HttpPool}. */
export interface HttpPoolOptions {
  /** Most connections kept open (idle or busy). */
  maxConnections?: number;
}

/**
 * Keep-alive connections to one `http://host:port` origin. `send` takes an idle connection or opens one; a
 * connection that failed or that the server asked to close is discarded.
 */
export class HttpPool {
  readonly origin: URL;
  #idle: Connection[] = [];
  #all = new Set<Connection>();
  #hostHeader: string;
  #closed = false;
  #max: number;
  #sweeper?: ReturnType<typeof setInterval>;

  constructor(origin: string | URL, options: HttpPoolOptions = {}) {
    this.origin = new URL(origin);
    if (this.origin.protocol !== "http:") {
      throw new Error(`the load generator speaks plain http:// only, got ${this.origin.protocol}//`);
    }
    this.#hostHeader = this.origin.host;
    this.#max = options.maxConnections ?? 10_000;
  }

  /** Open connections right now. */
  get size(): number {
    return this.#all.size;
  }

  /** Pre-encodes a request so hot loops can send the same bytes again. */
  encode(request: HttpRequest): Uint8Array {
    const body = typeof request.body === "string" ? encoder.encode(request.body) : request.body;
    let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${this.#hostHeader}\r\n`;
    for (const [name, value] of Object.entries(request.headers ?? {})) head += `${name}: ${value}\r\n`;
    if (body) head += `content-length: ${body.length}\r\n`;
    head += "\r\n";
    const headBytes = encoder.encode(head);
    if (!body) return headBytes;
    const out = new Uint8Array(headBytes.length + body.length);
    out.set(headBytes);
    out.set(body, headBytes.length);
    return out;
  }

  async #connect(): Promise<Connection> {
    if (this.#all.size >= this.#max) throw new Error(`connection limit of ${this.#max} reached`);
    const tcp = await Deno.connect({ hostname: this.origin.hostname.replace(/^\[|\]$/g, ""), port: this.#port() });
    tcp.setNoDelay(true);
    const conn = new Connection(tcp);
    this.#all.add(conn);
    return conn;
  }

  /**
   * Sets a connection's deadline. One sweep every 50 ms closes overdue connections: a timer per request would cost
   * more CPU than the request itself at high rates.
   */
  #watch(conn: Connection, deadline: number): void {
    conn.deadline = deadline;
    this.#sweeper ??= setInterval(() => {
      const now = performance.now();
      for (const c of this.#all) {
        if (c.deadline <= now) {
          c.timedOut = true;
          c.close();
        }
      }
    }, 50);
  }

  #port(): number {
    return this.origin.port ? Number(this.origin.port) : 80;
  }

  #release(conn: Connection, reusable: boolean): void {
    if (reusable && !this.#closed && !conn.closed) {
      this.#idle.push(conn);
      return;
    }
    conn.close();
    this.#all.delete(conn);
  }

  /**
   * Sends one request (given as fields or pre-encoded bytes) and reads the whole response. On an idle kept-alive
   * connection that turns out to be closed before any answer byte, it is sent once more on a fresh connection.
   */
  async send(request: HttpRequest, encoded?: Uint8Array): Promise<HttpResponse> {
    if (this.#closed) throw new Error("the pool is closed");
    const bytes = encoded ?? this.encode(request);
    const deadline = request.timeoutMs === undefined ? undefined : performance.now() + request.timeoutMs;
    const idle = this.#idle.pop();
    if (idle) {
      try {
        return await this.#exchange(idle, request, bytes, deadline);
      } catch (err) {
        if (!(err instanceof StaleConnectionError)) throw err;
      }
    }
    return await this.#exchange(await this.#connect(), request, bytes, deadline);
  }

  async #exchange(
    conn: Connection,
    request: HttpRequest,
    bytes: Uint8Array,
    deadline: number | undefined,
  ): Promise<HttpResponse> {
    let reusable = false;
    conn.received = 0;
    if (deadline !== undefined) this.#watch(conn, deadline);
    try {
      await conn.write(bytes);
      const head = await conn.readHead();
      const response: HttpResponse = { status: head.status, headers: head.headers, bodyBytes: 0, headAt: head.at };
      const texts: string[] = [];
      const wantText = request.keepBody === true;
      const onData = (bytes: Uint8Array) => {
        response.bodyBytes += bytes.length;
        if (wantText || (request.stream && response.firstTokenAt === undefined)) {
          const text = utf8.decode(bytes, { stream: true });
          if (wantText) texts.push(text);
          if (request.stream && response.firstTokenAt === undefined && CONTENT_RE.test(text)) {
            response.firstTokenAt = performance.now();
          }
        }
      };
      const length = head.headers.get("content-length");
      const chunked = /chunked/i.test(head.headers.get("transfer-encoding") ?? "");
      const closeAfter = /close/i.test(head.headers.get("connection") ?? "");
      if (request.method === "HEAD" || head.status === 204 || head.status === 304) {
        // no body
      } else if (chunked) {
        while (true) {
          const size = parseInt(await conn.line(), 16);
          if (!Number.isFinite(size)) throw new Error("malformed chunk size from the target");
          if (size === 0) {
            while ((await conn.line()) !== "") { /* trailers */ }
            break;
          }
          await conn.skip(size, onData);
          await conn.line();
        }
      } else if (length !== undefined) {
        await conn.skip(Number(length), onData);
      } else {
        await conn.drain(onData);
      }
      if (wantText) response.body = texts.join("");
      reusable = !closeAfter && (chunked || length !== undefined);
      return response;
    } catch (err) {
      if (conn.timedOut) throw new TimeoutError(`no complete answer within ${request.timeoutMs} ms`);
      throw err;
    } finally {
      conn.deadline = Number.POSITIVE_INFINITY;
      this.#release(conn, reusable && !conn.timedOut);
    }
  }

  /** Closes every connection; requests still in flight fail. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const conn of this.#all) conn.close();
    this.#all.clear();
    this.#idle = [];
  }
}
