import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { readFileSync } from "node:fs";
import { AgentSpend, AgentSpendConfigError, VERSION, uuidv7, parseRetryAfter } from "../dist/index.js";
import { BASE, KEY, ev, fakeFetch, fakeTimers, makeClient, tick, waitFor } from "./helpers.mjs";

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("record buffers and returns at once; flush sends one gzip batch with the headers", async () => {
  const fetch = fakeFetch();
  const timers = fakeTimers();
  const c = makeClient({ fetch, timers });
  assert.equal(c.record(ev(1)), true);
  assert.equal(c.record(ev(2, { agent_name: "other", idempotency_key: "mine" })), true);
  await tick();
  assert.equal(fetch.calls.length, 0, "nothing is sent before a trigger");
  assert.equal(c.pending, 2);
  assert.equal(await c.flush(), true);
  assert.equal(fetch.calls.length, 1);
  const call = fetch.calls[0];
  assert.equal(call.url, `${BASE}/api/v1/ingest`);
  assert.equal(call.method, "POST");
  assert.equal(call.headers.get("authorization"), `Bearer ${KEY}`);
  assert.equal(call.headers.get("content-type"), "application/json");
  assert.equal(call.headers.get("content-encoding"), "gzip");
  assert.match(call.headers.get("user-agent"), new RegExp(`^agentspend-typescript/${VERSION.replace(/\./g, "\\.")}$`));
  const [a, b] = call.json.events;
  assert.equal(a.agent_name, "tester");
  assert.equal(a.input_tokens, 11);
  assert.match(a.idempotency_key, UUID7);
  assert.match(a.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(b.agent_name, "other");
  assert.equal(b.idempotency_key, "mine");
  assert.equal(c.pending, 0);
  assert.deepEqual(c.stats, { recorded: 2, delivered: 2, rejected: 0, failed: 0, dropped: 0, pending: 0 });
});

test("defaults fill what the event leaves out; tags merge; Date timestamps become ISO", async () => {
  const fetch = fakeFetch();
  const c = makeClient({ fetch, defaults: { team: "core", tags: { env: "test", a: "1" } } });
  c.record(ev(0, { tags: { a: "2" }, timestamp: new Date("2026-02-03T04:05:06Z") }));
  await c.flush();
  const e = fetch.calls[0].json.events[0];
  assert.equal(e.team, "core");
  assert.deepEqual(e.tags, { env: "test", a: "2" });
  assert.equal(e.timestamp, "2026-02-03T04:05:06.000Z");
});

test("size trigger: a full batch of maxBatchEvents is sent without waiting for the timer", async () => {
  const fetch = fakeFetch();
  const timers = fakeTimers();
  const c = makeClient({ fetch, timers, maxBatchEvents: 5, flushIntervalMs: 60_000 });
  for (let i = 0; i < 12; i++) c.record(ev(i));
  await waitFor(() => fetch.calls.length === 2);
  await tick();
  assert.equal(fetch.calls.length, 2);
  assert.deepEqual(fetch.calls.map((x) => x.json.events.length), [5, 5]);
  assert.equal(c.pending, 2, "the rest waits for the timer");
  assert.equal(timers.count(60_000), 1);
  timers.fire(60_000);
  await waitFor(() => fetch.calls.length === 3);
  assert.equal(fetch.calls[2].json.events.length, 2);
  // order kept across batches
  const inputs = fetch.calls.flatMap((x) => x.json.events.map((e) => e.input_tokens));
  assert.deepEqual(inputs, Array.from({ length: 12 }, (_, i) => 10 + i));
});

test("size trigger by bytes: every body stays within maxBatchBytes", async () => {
  const fetch = fakeFetch();
  const c = makeClient({ fetch, timers: fakeTimers(), maxBatchBytes: 4096, flushIntervalMs: 60_000 });
  const pad = "é".repeat(300); // 600 bytes of UTF-8
  for (let i = 0; i < 20; i++) c.record(ev(i, { tags: { pad } }));
  await waitFor(() => fetch.calls.length >= 2);
  await c.flush();
  let total = 0;
  for (const call of fetch.calls) {
    assert.ok(Buffer.byteLength(call.text) <= 4096, `body of ${Buffer.byteLength(call.text)} bytes`);
    total += call.json.events.length;
  }
  assert.equal(total, 20);
});

test("time trigger: the interval timer (unref'd by default) sends a partial batch", async () => {
  const fetch = fakeFetch();
  const timers = fakeTimers();
  const c = makeClient({ fetch, timers, flushIntervalMs: 1000 });
  c.record(ev(1));
  c.record(ev(2));
  assert.equal(timers.count(1000), 1, "one timer for the buffer");
  await tick();
  assert.equal(fetch.calls.length, 0);
  timers.fire(1000);
  await waitFor(() => fetch.calls.length === 1);
  assert.equal(fetch.calls[0].json.events.length, 2);
});

test("time trigger with real (short) timers", async () => {
  const fetch = fakeFetch();
  const c = makeClient({ fetch, flushIntervalMs: 20 });
  c.record(ev(1));
  await waitFor(() => fetch.calls.length === 1, 1000);
  assert.equal(fetch.calls[0].json.events.length, 1);
  await c.close();
});

test("buffer full: record drops, counts and never throws", async () => {
  const fetch = fakeFetch();
  const c = makeClient({ fetch, timers: fakeTimers(), maxBufferEvents: 3, flushIntervalMs: 60_000 });
  const results = [];
  for (let i = 0; i < 5; i++) results.push(c.record(ev(i)));
  assert.deepEqual(results, [true, true, true, false, false]);
  assert.equal(c.dropped, 2);
  const circular = { provider: "x", model: "y" };
  circular.self = circular;
  assert.doesNotThrow(() => c.record(circular));
  await c.flush();
  assert.equal(fetch.calls[0].json.events.length, 3);
  await c.close();
  assert.equal(c.record(ev(9)), false, "closed client drops");
  assert.equal(c.dropped, 3 + 1);
});

test("close flushes what is buffered; Symbol.asyncDispose closes", async () => {
  const fetch = fakeFetch();
  const c = makeClient({ fetch, timers: fakeTimers() });
  c.record(ev(1));
  await c[Symbol.asyncDispose]();
  assert.equal(fetch.calls.length, 1);
  await c.close(); // twice is fine
});

test("flush timeout resolves false while the service hangs; close abandons and reports", async () => {
  // A fetch that never answers until the client aborts it.
  const hanging = (url, init) =>
    new Promise((_, reject) =>
      init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")), { once: true }),
    );
  const failures = [];
  const c = makeClient({ fetch: hanging, onError: (f) => failures.push(f) });
  c.record(ev(1));
  assert.equal(await c.flush({ timeoutMs: 30 }), false);
  await c.close({ timeoutMs: 30 });
  assert.equal(failures.length, 1);
  assert.equal(failures[0].kind, "closed");
  assert.equal(failures[0].events.length, 1);
  assert.equal(c.pending, 0);
});

test("configuration: env fallback through process.env; missing URL or key throws a config error", () => {
  const saved = { u: process.env.AGENTSPEND_URL, k: process.env.AGENTSPEND_KEY };
  try {
    process.env.AGENTSPEND_URL = "http://env.example/";
    process.env.AGENTSPEND_KEY = "env-key";
    const c = new AgentSpend({ flushOnExit: false });
    assert.equal(c.baseUrl, "http://env.example");
    delete process.env.AGENTSPEND_URL;
    assert.throws(() => new AgentSpend({ flushOnExit: false }), AgentSpendConfigError);
    process.env.AGENTSPEND_URL = "http://env.example/";
    delete process.env.AGENTSPEND_KEY;
    assert.throws(() => new AgentSpend({ flushOnExit: false }), AgentSpendConfigError);
  } finally {
    if (saved.u === undefined) delete process.env.AGENTSPEND_URL;
    else process.env.AGENTSPEND_URL = saved.u;
    if (saved.k === undefined) delete process.env.AGENTSPEND_KEY;
    else process.env.AGENTSPEND_KEY = saved.k;
  }
});

test("the API key never shows in inspect output or JSON", () => {
  const c = makeClient();
  assert.ok(!inspect(c, { showHidden: true, depth: 5 }).includes(KEY));
  assert.ok(!JSON.stringify(c).includes(KEY));
});

test("VERSION comes from package.json", () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  assert.equal(VERSION, pkg.version);
});

test("uuidv7: RFC 9562 layout, time-ordered, unique", () => {
  const t = Date.parse("2026-05-06T07:08:09.123Z");
  const u = uuidv7(t);
  assert.match(u, UUID7);
  assert.equal(parseInt(u.replace(/-/g, "").slice(0, 12), 16), t);
  assert.ok(uuidv7(t) < uuidv7(t + 1));
  const set = new Set(Array.from({ length: 2000 }, () => uuidv7(t)));
  assert.equal(set.size, 2000);
});

test("parseRetryAfter: seconds and HTTP dates", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("7", now), 7000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

test("an event too large for any request is refused on the client and reported", async () => {
  const rejected = [];
  const fetch = fakeFetch();
  const c = makeClient({ fetch, maxBatchBytes: 1000, onRejected: (r, info) => rejected.push([r, info]) });
  assert.equal(c.record(ev(1, { tags: { big: "x".repeat(2000) } })), false);
  assert.equal(rejected.length, 1);
  assert.match(rejected[0][0][0].reason, /^too_large/);
  assert.equal(rejected[0][1].status, 0);
  await c.close();
  assert.equal(fetch.calls.length, 0);
});
