import { test } from "node:test";
import assert from "node:assert/strict";
import { AgentSpendError, AgentSpendUnavailableError, SpendRefusedError } from "../dist/index.js";
import { BASE, KEY, fakeFetch, json, makeClient } from "./helpers.mjs";

const allowed = (extra = {}) => json(200, { allowed: true, remaining: { b1: 12.5 }, ...extra });

test("check posts to /api/v1/check with the default agent and answers allowed", async () => {
  const fetch = fakeFetch(() => allowed());
  const c = makeClient({ fetch });
  const r = await c.check({ model: "gpt-5", estimated_cost_usd: 0.25 });
  assert.equal(fetch.calls[0].url, `${BASE}/api/v1/check`);
  assert.equal(fetch.calls[0].method, "POST");
  assert.equal(fetch.calls[0].headers.get("authorization"), `Bearer ${KEY}`);
  assert.equal(fetch.calls[0].headers.get("content-type"), "application/json");
  assert.deepEqual(fetch.calls[0].json, { agent_name: "tester", model: "gpt-5", estimated_cost_usd: 0.25 });
  assert.equal(r.allowed, true);
  assert.equal(r.failedOpen, false);
  assert.deepEqual(r.remaining, { b1: 12.5 });
  assert.equal(r.reservation, undefined);
});

test("reserve sends reserve:true and returns the reservation; release deletes it", async () => {
  const fetch = fakeFetch((call) => {
    if (call.method === "POST")
      return allowed({ reservation: { id: "res 1/x", expires_at: "2026-01-01T00:10:00Z", budget_ids: ["b1"] } });
    if (call.url.endsWith("/res%201%2Fx")) return new Response(null, { status: 204 });
    return json(404, { title: "not open", status: 404 });
  });
  const c = makeClient({ fetch });
  const r = await c.reserve({ estimated_tokens: 5000, reservation_ttl_seconds: 120 });
  assert.equal(fetch.calls[0].json.reserve, true);
  assert.equal(fetch.calls[0].json.estimated_tokens, 5000);
  assert.equal(r.reservation.id, "res 1/x");
  assert.deepEqual(r.reservation.budgetIds, ["b1"]);
  assert.equal(r.reservation.expiresAt.toISOString(), "2026-01-01T00:10:00.000Z");
  assert.equal(await c.release(r), true);
  assert.equal(fetch.calls[1].method, "DELETE");
  assert.equal(fetch.calls[1].url, `${BASE}/api/v1/check/reservations/res%201%2Fx`);
  assert.equal(await c.release("gone"), false, "404 → false");
  assert.equal(await c.release(undefined), false);
  assert.equal(fetch.calls.length, 3);
});

test("a refusal throws SpendRefusedError with reason, budget, resumeAt and Retry-After", async () => {
  const budget = { id: "b1", name: "daily", used: 10.2, limit: 10, remaining: 0, period_end: "2026-01-02T00:00:00Z" };
  const fetch = fakeFetch(() =>
    json(429, { allowed: false, reason: "budget_exceeded", budget, resume_at: "2026-01-02T00:00:00Z" }, { "retry-after": "120" }),
  );
  const c = makeClient({ fetch });
  await assert.rejects(c.check({ estimated_cost_usd: 1 }), (err) => {
    assert.ok(err instanceof SpendRefusedError);
    assert.ok(err instanceof AgentSpendError);
    assert.equal(err.reason, "budget_exceeded");
    assert.deepEqual(err.budget, budget);
    assert.equal(err.resumeAt.toISOString(), "2026-01-02T00:00:00.000Z");
    assert.equal(err.retryAfterMs, 120_000);
    assert.equal(err.status, 429);
    return true;
  });
  for (const reason of ["killed", "agent_paused"]) {
    const f = fakeFetch(() => json(429, { allowed: false, reason }));
    await assert.rejects(makeClient({ fetch: f }).reserve({}), (err) => err instanceof SpendRefusedError && err.reason === reason && err.resumeAt === undefined);
  }
});

test("failOpen (default true): an unreachable service allows, flagged failedOpen", async () => {
  for (const answer of [() => new TypeError("fetch failed"), () => json(503, { reason: "storage_unavailable" }, { "retry-after": "5" }), () => json(500, {})]) {
    const c = makeClient({ fetch: fakeFetch(answer) });
    const r = await c.check({ estimated_cost_usd: 1 });
    assert.equal(r.allowed, true);
    assert.equal(r.failedOpen, true);
    const rr = await c.reserve({ estimated_cost_usd: 1 });
    assert.equal(rr.reservation, undefined);
    assert.equal(await c.release("abc"), false);
  }
});

test("failOpen: false throws AgentSpendUnavailableError when the service cannot be reached", async () => {
  const c = makeClient({ failOpen: false, fetch: fakeFetch(() => new TypeError("fetch failed")) });
  await assert.rejects(c.check({}), AgentSpendUnavailableError);
  await assert.rejects(c.release("abc"), AgentSpendUnavailableError);
  const c2 = makeClient({ failOpen: false, fetch: fakeFetch(() => json(503, { reason: "storage_unavailable" })) });
  await assert.rejects(c2.check({}), (e) => e instanceof AgentSpendUnavailableError && e.status === 503);
});

test("a check that times out fails open (or closed)", async (t) => {
  // The SDK's timers are unref'd and this fake fetch holds no socket: keep the loop alive meanwhile.
  const keepAlive = setInterval(() => {}, 1000);
  t.after(() => clearInterval(keepAlive));
  const hanging = (url, init) =>
    new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
  const open = await makeClient({ fetch: hanging, checkTimeoutMs: 20 }).check({});
  assert.equal(open.failedOpen, true);
  await assert.rejects(makeClient({ fetch: hanging, checkTimeoutMs: 20, failOpen: false }).check({}), AgentSpendUnavailableError);
});

test("configuration errors (401, 400) always throw, whatever failOpen says", async () => {
  const c = makeClient({ fetch: fakeFetch(() => json(401, { title: "Unauthorized", status: 401 })) });
  await assert.rejects(c.check({}), (e) => e instanceof AgentSpendError && !(e instanceof SpendRefusedError) && e.status === 401);
  const c2 = makeClient({ fetch: fakeFetch(() => json(400, { title: "unknown tool", status: 400 })) });
  await assert.rejects(c2.check({ tool: "nope" }), (e) => e.status === 400 && /unknown tool/.test(e.message));
});
