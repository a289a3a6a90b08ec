// Against a real node:http server on 127.0.0.1: gzip and headers on the wire, the README's quick start
// run as pasted, and the beforeExit flush of a Node process that just ends.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AgentSpend, VERSION } from "../dist/index.js";

const KEY = "as_http_test_key_9f8e7d";
const requests = [];
let answer = () => ({ status: 202, body: null });
let server;
let base;

before(async () => {
  server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const text = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
      const r = { method: req.method, url: req.url, headers: req.headers, raw, text, json: text ? JSON.parse(text) : undefined };
      requests.push(r);
      const a = answer(r);
      const body = a.body ?? { accepted: r.json?.events?.length ?? 0, rejected: 0, errors: [], rejected_agents: [] };
      res.writeHead(a.status, { "content-type": "application/json", ...(a.headers ?? {}) });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

function reset(fn = () => ({ status: 202, body: null })) {
  requests.length = 0;
  answer = fn;
}

const TMP = new URL("./.tmp/", import.meta.url);

/** Runs a script as its own Node process from inside the package (so `import "agentspend"` resolves to it). */
function runScript(name, source, env) {
  mkdirSync(TMP, { recursive: true });
  const file = new URL(name, TMP);
  writeFileSync(file, source);
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [fileURLToPath(file)], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("close", (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

after(() => rmSync(TMP, { recursive: true, force: true }));

test("ingest over real HTTP: gzip body, content headers, bearer key, user agent", async () => {
  reset();
  const c = new AgentSpend({ baseUrl: base, apiKey: KEY, agentName: "http-test", flushOnExit: false });
  c.record({ provider: "openai", model: "gpt-5-mini", input_tokens: 3, output_tokens: 4, tags: { note: "ü€𝄞" } });
  c.record({ provider: "anthropic", model: "claude-haiku-4-5", input_tokens: 5 });
  assert.equal(await c.flush({ timeoutMs: 5000 }), true);
  await c.close();
  assert.equal(requests.length, 1);
  const r = requests[0];
  assert.equal(r.method, "POST");
  assert.equal(r.url, "/api/v1/ingest");
  assert.equal(r.headers["content-encoding"], "gzip");
  assert.equal(r.headers["content-type"], "application/json");
  assert.equal(r.headers.authorization, `Bearer ${KEY}`);
  assert.equal(r.headers["user-agent"], `agentspend-typescript/${VERSION}`);
  assert.equal(r.raw[0], 0x1f);
  assert.equal(r.raw[1], 0x8b);
  assert.equal(r.json.events.length, 2);
  assert.equal(r.json.events[0].tags.note, "ü€𝄞");
  assert.equal(r.json.events[1].agent_name, "http-test");
  assert.equal(c.stats.delivered, 2);
});

test("check, reserve and release over real HTTP", async () => {
  reset((r) => {
    if (r.url === "/api/v1/check" && r.json.reserve)
      return { status: 200, body: { allowed: true, remaining: {}, reservation: { id: "r1", expires_at: "2026-01-01T00:00:00Z", budget_ids: [] } } };
    if (r.url === "/api/v1/check") return { status: 429, body: { allowed: false, reason: "killed" }, headers: { "retry-after": "1" } };
    return { status: 204, body: null };
  });
  const c = new AgentSpend({ baseUrl: base + "/", apiKey: KEY, agentName: "http-test", flushOnExit: false });
  await assert.rejects(c.check({ estimated_cost_usd: 1 }), (e) => e.name === "SpendRefusedError" && e.reason === "killed");
  const res = await c.reserve({ estimated_cost_usd: 1 });
  assert.equal(res.reservation.id, "r1");
  assert.equal(await c.release(res), true);
  assert.deepEqual(requests.map((r) => `${r.method} ${r.url}`), [
    "POST /api/v1/check",
    "POST /api/v1/check",
    "DELETE /api/v1/check/reservations/r1",
  ]);
  assert.equal(requests[0].headers["content-encoding"], undefined, "checks are plain JSON");
});

test("the README's first code block runs as pasted from a .mjs file and delivers its event", async () => {
  reset();
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const code = /```js\n([\s\S]*?)```/.exec(readme)[1];
  const out = await runScript("quickstart.mjs", code, { AGENTSPEND_URL: base, AGENTSPEND_KEY: KEY });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stderr, "");
  assert.match(out.stdout, /delivered: 1 dropped: 0/);
  assert.equal(requests.length, 1);
  assert.equal(requests[0].headers.authorization, `Bearer ${KEY}`);
  assert.equal(requests[0].json.events[0].agent_name, "quickstart");
  assert.ok(!out.stdout.includes(KEY));
});

test("Node: a script that just ends is flushed on beforeExit", async () => {
  reset();
  const src = `import { AgentSpend } from "agentspend";
const c = new AgentSpend({ agentName: "exit-test", flushIntervalMs: 60000 });
c.record({ provider: "openai", model: "gpt-5-mini", input_tokens: 1 });
`;
  const out = await runScript("exit.mjs", src, { AGENTSPEND_URL: base, AGENTSPEND_KEY: KEY });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(requests.length, 1);
  assert.equal(requests[0].json.events[0].agent_name, "exit-test");
});

test("Node: the beforeExit flush stops at its deadline when the service keeps failing", async () => {
  reset(() => ({ status: 503, body: { reason: "storage_unavailable" } }));
  const src = `import { AgentSpend } from "agentspend";
const c = new AgentSpend({ agentName: "exit-test", exitFlushTimeoutMs: 400, initialBackoffMs: 20, maxBackoffMs: 50 });
c.record({ provider: "openai", model: "gpt-5-mini", input_tokens: 1 });
`;
  const out = await runScript("exit-deadline.mjs", src, { AGENTSPEND_URL: base, AGENTSPEND_KEY: KEY });
  assert.equal(out.code, 0, out.stderr);
  assert.ok(requests.length >= 2, `retried (${requests.length} requests)`);
  assert.ok(out.ms < 5000, `exited after ${out.ms} ms`);
  const keys = new Set(requests.map((r) => r.json.events[0].idempotency_key));
  assert.equal(keys.size, 1, "every retry carries the same key");
});

test("Node: a client with an empty buffer does not hold the process open", async () => {
  reset();
  const src = `import { AgentSpend } from "agentspend";
const c = new AgentSpend({ agentName: "idle" });
console.log("ok");
`;
  const out = await runScript("idle.mjs", src, { AGENTSPEND_URL: base, AGENTSPEND_KEY: KEY });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(requests.length, 0);
  assert.ok(out.ms < 3000);
});

// Node's own fetch and CompressionStream need its Buffer global, so only `process` is taken away here;
// that the SDK names no Buffer is checked on its source below.
test("portable core: works with no process global (as in a browser or edge runtime)", async () => {
  reset();
  const src = `const url = process.env.AGENTSPEND_URL;
globalThis.process = undefined;
const { AgentSpend } = await import("agentspend");
const c = new AgentSpend({ baseUrl: url, apiKey: "edge-key", agentName: "edge" });
c.record({ provider: "openai", model: "gpt-5-mini", input_tokens: 2 });
const ok = await c.flush({ timeoutMs: 5000 });
await c.close();
console.log(ok, c.stats.delivered);
`;
  const out = await runScript("edge.mjs", src, { AGENTSPEND_URL: base });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout.trim(), "true 1");
  assert.equal(requests.length, 1);
  assert.equal(requests[0].headers["content-encoding"], "gzip");
  assert.equal(requests[0].headers["user-agent"], "node", "no SDK user agent without a Node process (undici's default)");
});

test("portable core: dist imports no Node module and names no Buffer", () => {
  const dir = new URL("../dist/", import.meta.url);
  for (const f of ["client.js", "run.js", "util.js", "uuid.js", "responses.js", "errors.js", "index.js", "version.js", "types.js"]) {
    const text = readFileSync(new URL(f, dir), "utf8");
    assert.ok(!/from\s+["']node:|import\(["']node:|require\(/.test(text), `${f} imports a Node module`);
    assert.ok(!/\bBuffer\b\s*[.(]/.test(text), `${f} uses Buffer`);
    if (f !== "util.js") assert.ok(!/\bprocess(\?\.|\.)\w/.test(text), `${f} touches process`);
  }
  const util = readFileSync(new URL("util.js", dir), "utf8");
  assert.ok(!/[^.]\bprocess\./.test(util.replace(/globalThis\.process/g, "")), "process only through globalThis.process");
});
