import { test } from "node:test";
import assert from "node:assert/strict";
import { accepted, ev, fakeClock, fakeFetch, json, makeClient } from "./helpers.mjs";

const problem = (status, reason, headers = {}) =>
  json(status, { title: reason, status, reason, errors: [{ field: "body", reason }] }, headers);

test("5xx and network errors are retried with full-jitter exponential backoff; body and keys are reused", async () => {
  const clock = fakeClock();
  const fetch = fakeFetch((call, n) => {
    if (n === 1) return new TypeError("fetch failed");
    if (n === 2) return problem(500, "boom");
    if (n === 3) return problem(502, "bad gateway");
    return accepted(2);
  });
  const c = makeClient({ fetch, now: clock.now, sleep: clock.sleep, random: () => 0.5, initialBackoffMs: 100, maxBackoffMs: 300 });
  c.record(ev(1));
  c.record(ev(2));
  assert.equal(await c.flush(), true);
  assert.equal(fetch.calls.length, 4);
  // caps 100, 200, 400→300; full jitter with random 0.5
  assert.deepEqual(clock.sleeps, [50, 100, 150]);
  const first = Buffer.from(fetch.calls[0].raw);
  for (const call of fetch.calls) assert.ok(Buffer.from(call.raw).equals(first), "same bytes on every attempt");
  const keys = fetch.calls.map((x) => x.json.events.map((e) => e.idempotency_key).join());
  assert.equal(new Set(keys).size, 1);
  assert.equal(c.stats.delivered, 2);
});

test("jitter spans [0, cap): random 0 waits nothing, random just under 1 waits just under the cap", async () => {
  for (const [r, expected] of [[0, 0], [0.999, 499]]) {
    const clock = fakeClock();
    const fetch = fakeFetch((call, n) => (n === 1 ? problem(503, "x") : accepted(1)));
    const c = makeClient({ fetch, now: clock.now, sleep: clock.sleep, random: () => r, initialBackoffMs: 500 });
    c.record(ev());
    await c.flush();
    assert.deepEqual(clock.sleeps, [expected]);
  }
});

test("Retry-After in seconds on 503 and as an HTTP date on 429 is honoured", async () => {
  const clock = fakeClock(Date.parse("2026-01-01T00:00:00Z"));
  const fetch = fakeFetch((call, n) => {
    if (n === 1) return problem(503, "queue_unavailable", { "retry-after": "7" });
    if (n === 2) return problem(429, "daily_limit", { "retry-after": "Thu, 01 Jan 2026 00:00:37 GMT" });
    return accepted(1);
  });
  const c = makeClient({ fetch, now: clock.now, sleep: clock.sleep, random: () => 0.5 });
  c.record(ev());
  assert.equal(await c.flush(), true);
  assert.deepEqual(clock.sleeps, [7000, 30_000]);
  assert.equal(fetch.calls.length, 3);
});

test("gives up after maxRetryTimeMs and reports through onError", async () => {
  const clock = fakeClock();
  const failures = [];
  const fetch = fakeFetch(() => problem(503, "storage_unavailable"));
  const c = makeClient({
    fetch, now: clock.now, sleep: clock.sleep, random: () => 1 - 1e-9,
    initialBackoffMs: 1000, maxBackoffMs: 4000, maxRetryTimeMs: 10_000,
    onError: (f) => failures.push(f),
  });
  c.record(ev(1));
  c.record(ev(2));
  assert.equal(await c.flush(), true, "a given-up batch is settled");
  // waits ~1000, ~2000, ~4000 (7,000 in all); the next ~4000 would pass 10,000
  assert.equal(fetch.calls.length, 4);
  assert.equal(failures.length, 1);
  assert.equal(failures[0].kind, "gave_up");
  assert.equal(failures[0].status, 503);
  assert.equal(failures[0].attempts, 4);
  assert.equal(failures[0].message, "storage_unavailable");
  assert.equal(failures[0].events.length, 2);
  assert.ok(clock.t - Date.parse("2026-01-01T00:00:00Z") <= 10_000);
  assert.equal(c.stats.failed, 2);
});

test("a Retry-After beyond the retry budget gives up at once", async () => {
  const clock = fakeClock();
  const failures = [];
  const fetch = fakeFetch(() => problem(429, "daily_limit", { "retry-after": "3600" }));
  const c = makeClient({ fetch, now: clock.now, sleep: clock.sleep, maxRetryTimeMs: 60_000, onError: (f) => failures.push(f) });
  c.record(ev());
  await c.flush();
  assert.equal(fetch.calls.length, 1);
  assert.deepEqual(clock.sleeps, []);
  assert.equal(failures[0].kind, "gave_up");
  assert.equal(failures[0].status, 429);
});

test("other 4xx are not retried (401 → onError http_error); the key is not in the report", async () => {
  const failures = [];
  const fetch = fakeFetch(() => problem(401, "invalid key"));
  const c = makeClient({ fetch, onError: (f) => failures.push(f) });
  c.record(ev());
  await c.flush();
  assert.equal(fetch.calls.length, 1);
  assert.equal(failures[0].kind, "http_error");
  assert.equal(failures[0].status, 401);
  assert.ok(!JSON.stringify(failures).includes("as_test_secret_key_123"));
});

test("202 with errors: the named events go to onRejected, the rest count as delivered", async () => {
  const rejected = [];
  const fetch = fakeFetch(() =>
    json(202, {
      accepted: 2,
      rejected: 1,
      errors: [{ index: 1, field: "model", reason: "required" }],
      rejected_agents: [],
    }),
  );
  const c = makeClient({ fetch, onRejected: (r, info) => rejected.push({ r, info }) });
  c.record(ev(0));
  c.record(ev(1, { model: "" }));
  c.record(ev(2));
  await c.flush();
  assert.equal(fetch.calls.length, 1, "not retried");
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0].info.status, 202);
  assert.equal(rejected[0].info.accepted, 2);
  assert.equal(rejected[0].r.length, 1);
  assert.deepEqual({ ...rejected[0].r[0], event: undefined }, { event: undefined, index: 1, field: "model", reason: "required" });
  assert.equal(rejected[0].r[0].event.input_tokens, 11);
  assert.equal(c.stats.delivered, 2);
  assert.equal(c.stats.rejected, 1);
});

test("a whole-batch 400 reports every event and is not retried", async () => {
  const rejected = [];
  const fetch = fakeFetch(() =>
    json(400, {
      title: "No event accepted",
      status: 400,
      errors: [
        { index: 0, field: "timestamp", reason: "too_old: before retention" },
        { index: 1, field: "agent_name", reason: "required" },
      ],
    }),
  );
  const c = makeClient({ fetch, onRejected: (r, info) => rejected.push({ r, info }) });
  c.record(ev(0));
  c.record(ev(1));
  c.record(ev(2));
  await c.flush();
  assert.equal(fetch.calls.length, 1);
  assert.equal(rejected[0].info.status, 400);
  assert.deepEqual(rejected[0].r.map((x) => [x.index, x.reason]), [
    [0, "too_old: before retention"],
    [1, "required"],
    [2, "No event accepted"],
  ]);
  assert.equal(c.stats.rejected, 3);
});

test("a server that refuses gzip (415) gets the batch again uncompressed, and later batches too", async () => {
  const fetch = fakeFetch((call) =>
    call.headers.get("content-encoding") === "gzip" ? problem(415, "unsupported media type") : accepted(1),
  );
  const c = makeClient({ fetch });
  c.record(ev(1));
  await c.flush();
  c.record(ev(2));
  await c.flush();
  assert.deepEqual(fetch.calls.map((x) => x.headers.get("content-encoding")), ["gzip", null, null]);
  assert.equal(c.stats.delivered, 2);
});

test("gzip: false sends plain JSON", async () => {
  const fetch = fakeFetch();
  const c = makeClient({ fetch, gzip: false });
  c.record(ev(1));
  await c.flush();
  assert.equal(fetch.calls[0].headers.get("content-encoding"), null);
  assert.equal(typeof fetch.calls[0].raw, "string");
});

test("callbacks that throw do not break the sender", async () => {
  const fetch = fakeFetch((call, n) => (n === 1 ? json(202, { accepted: 0, errors: [{ index: 0, field: "x", reason: "y" }] }) : accepted(1)));
  const c = makeClient({ fetch, onRejected: () => { throw new Error("user bug"); } });
  c.record(ev(1));
  assert.equal(await c.flush(), true);
  c.record(ev(2));
  assert.equal(await c.flush(), true);
  assert.equal(fetch.calls.length, 2);
});
