import { test } from "node:test";
import assert from "node:assert/strict";
import { Run } from "../dist/index.js";
import { fakeClock, fakeFetch, json, makeClient } from "./helpers.mjs";

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("run(): events recorded inside carry run_id and task_type; the summary has duration and success", async () => {
  const clock = fakeClock();
  const fetch = fakeFetch();
  const c = makeClient({ fetch, now: clock.now });
  const value = await c.run("triage", async (run) => {
    assert.ok(run instanceof Run);
    run.record({ provider: "anthropic", model: "claude-sonnet-4-5", input_tokens: 100, output_tokens: 20 });
    clock.t += 1500;
    run.record({ provider: "openai", model: "gpt-5-mini", input_tokens: 7, task_type: "sub" });
    clock.t += 250;
    return 42;
  }, { fields: { session_id: "s1", tags: { env: "t" } } });
  assert.equal(value, 42);
  await c.flush();
  const events = fetch.calls.flatMap((x) => x.json.events);
  assert.equal(events.length, 3);
  const runId = events[0].run_id;
  assert.match(runId, UUID7);
  assert.ok(events.every((e) => e.run_id === runId && e.session_id === "s1" && e.agent_name === "tester"));
  assert.equal(events[0].task_type, "triage");
  assert.equal(events[1].task_type, "sub");
  const summary = events[2];
  assert.equal(summary.task_type, "triage");
  assert.equal(summary.duration_ms, 1750);
  assert.equal(summary.task_success, true);
  assert.equal(summary.cost_usd, 0);
  assert.equal(summary.provider, "openai");
  assert.equal(summary.model, "gpt-5-mini");
  assert.equal(summary.input_tokens, undefined);
  assert.deepEqual(summary.tags, { env: "t", "agentspend.event": "run_summary" });
});

test("run(): a throwing body records task_success false and rethrows; fail()/succeed() win", async () => {
  const fetch = fakeFetch();
  const c = makeClient({ fetch });
  await assert.rejects(c.run("triage", async () => { throw new Error("boom"); }), /boom/);
  await c.run("triage", (run) => { run.fail(); });
  await assert.rejects(c.run("triage", (run) => { run.succeed(); throw new Error("after success"); }));
  await c.flush();
  const summaries = fetch.calls.flatMap((x) => x.json.events);
  assert.deepEqual(summaries.map((e) => e.task_success), [false, false, true]);
  assert.deepEqual(summaries.map((e) => [e.provider, e.model]), Array(3).fill(["agentspend", "run"]));
});

test("startRun + Symbol.asyncDispose (await using): ends once; outcome only when set", async () => {
  const clock = fakeClock();
  const fetch = fakeFetch();
  const c = makeClient({ fetch, now: clock.now });
  const run = c.startRun("triage", { runId: "run-123", agentName: "triager", summaryModel: "none" });
  run.record({ provider: "openai", model: "gpt-5", input_tokens: 1 });
  clock.t += 40;
  await run[Symbol.asyncDispose]();
  await run[Symbol.asyncDispose]();
  run.end({ success: true }); // already ended: nothing more
  assert.equal(run.ended, true);
  await c.flush();
  const events = fetch.calls.flatMap((x) => x.json.events);
  assert.equal(events.length, 2);
  assert.ok(events.every((e) => e.run_id === "run-123" && e.agent_name === "triager"));
  assert.equal(events[1].duration_ms, 40);
  assert.equal("task_success" in events[1], false);
});

test("summary: the agent of the run's last event when the client and the run name none (else the server refuses it)", async () => {
  const fetch = fakeFetch();
  const c = makeClient({ fetch, agentName: undefined });
  await c.run("triage", (run) => {
    run.record({ agent_name: "first", provider: "anthropic", model: "claude-sonnet-4-5", input_tokens: 1 });
    run.record({ agent_name: "worker", provider: "anthropic", model: "claude-sonnet-4-5", input_tokens: 2 });
  });
  // The run's agentName wins over its events' agents; a client default fills in only when neither names one.
  await c.run("triage", (run) => run.record({ agent_name: "worker", provider: "p", model: "m" }), { agentName: "run-agent" });
  const named = makeClient({ fetch });
  await named.run("triage", (run) => run.record({ provider: "p", model: "m" }));
  await c.flush();
  await named.flush();
  const summaries = fetch.calls.flatMap((x) => x.json.events).filter((e) => e.tags?.["agentspend.event"] === "run_summary");
  assert.deepEqual(summaries.map((e) => e.agent_name), ["worker", "run-agent", "tester"]);
});

test("summary: false records no summary", async () => {
  const fetch = fakeFetch();
  const c = makeClient({ fetch });
  await c.run("t", (run) => run.record({ provider: "p", model: "m" }), { summary: false });
  await c.flush();
  assert.equal(fetch.calls.flatMap((x) => x.json.events).length, 1);
});

test("run.check / run.reserve carry the run's run_id and agent", async () => {
  const fetch = fakeFetch(() => json(200, { allowed: true, remaining: {} }));
  const c = makeClient({ fetch });
  const run = c.startRun("triage", { fields: { user_id: "u1", team: "core" } });
  await run.check({ estimated_cost_usd: 0.1 });
  await run.reserve({ estimated_cost_usd: 0.1 });
  assert.deepEqual(fetch.calls[0].json, { agent_name: "tester", run_id: run.id, user_id: "u1", team: "core", estimated_cost_usd: 0.1 });
  assert.equal(fetch.calls[1].json.reserve, true);
  assert.equal(fetch.calls[1].json.run_id, run.id);
  run.end();
  await c.close();
});
