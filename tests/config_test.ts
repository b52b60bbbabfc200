import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../src/config.ts";

Deno.test("defaults run with nothing configured", () => {
  const c = loadConfig({ env: {} });
  assert.deepEqual(c.host, "127.0.0.1");
  assert.deepEqual(c.port, 8000);
  assert.deepEqual(c.cache.similarityThreshold, 0.85);
  assert.deepEqual(Object.keys(c.apiKeys), []);
  assert.deepEqual(Object.keys(c.providers.sim.models).sort(), ["sim-large", "sim-small"]);
});

Deno.test("environment names of API.md are read", () => {
  const c = loadConfig({
    env: {
      AMAS_HOST: "0.0.0.0",
      AMAS_PORT: "9000",
      AMAS_API_KEYS: "acme=sk-acme-1234,globex=sk-globex-5678",
      AMAS_SIMILARITY_THRESHOLD: "0.9",
      OPENAI_API_KEY: "sk-upstream",
      AMAS_LOG_BODIES: "false",
    },
  });
  assert.deepEqual(c.port, 9000);
  assert.deepEqual(c.apiKeys, { acme: "sk-acme-1234", globex: "sk-globex-5678" });
  assert.deepEqual(c.cache.similarityThreshold, 0.9);
  assert.deepEqual(c.providers.openai.apiKey, "sk-upstream");
  assert.deepEqual(c.logBodies, false);
});

Deno.test("invalid settings stop start-up with a message naming the setting", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ AMAS_PORT: "99999" }, /AMAS_PORT/],
    [{ AMAS_PORT: "abc" }, /AMAS_PORT/],
    [{ AMAS_SIMILARITY_THRESHOLD: "1.5" }, /AMAS_SIMILARITY_THRESHOLD/],
    [{ REDIS_URL: "http://x" }, /REDIS_URL/],
    [{ AMAS_API_KEYS: "nokey" }, /AMAS_API_KEYS/],
    [{ AMAS_API_KEYS: "a=short" }, /apiKeys/],
    [{ AMAS_HOST: "0.0.0.0" }, /loopback/],
    [{ AMAS_EMBEDDER: "word2vec" }, /AMAS_EMBEDDER/],
    [{ UPSTASH_REDIS_REST_URL: "https://x.example" }, /UPSTASH/],
    [{ AMAS_CONFIG: "/nonexistent/amas.json" }, /AMAS_CONFIG/],
  ];
  for (const [env, pattern] of cases) {
    assert.throws(() => loadConfig({ env }), (err: unknown) => {
      assert.ok(err instanceof ConfigError, `${JSON.stringify(env)} threw ${err}`);
      assert.match(err.message, pattern);
      assert.equal(err.message.includes("\n"), false);
      return true;
    });
  }
});

Deno.test("a config file is read and the environment wins over it", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify({ port: 7000, cache: { similarityThreshold: 0.8 } }));
    const c = loadConfig({ env: { AMAS_CONFIG: file, AMAS_PORT: "7001" } });
    assert.deepEqual(c.port, 7001);
    assert.deepEqual(c.cache.similarityThreshold, 0.8);
  } finally {
    await Deno.remove(file);
  }
});
