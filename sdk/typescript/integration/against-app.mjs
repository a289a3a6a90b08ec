// The TypeScript SDK against the running AgentSpend app: record, retry after a real 429, kill switch, reservations.
//
// Run by scripts/test-sdks.sh as `node sdk/typescript/integration/against-app.mjs` after `npm run build` in
// sdk/typescript, with AGENTSPEND_URL, AGENTSPEND_KEY (ingest scope, a fresh workspace in UTC),
// AGENTSPEND_ADMIN_KEY (that workspace's admin), AGENTSPEND_THROTTLED_URL (a second instance on the same storage:
// 1 request a second per key, burst 1, counts nothing itself) and AGENTSPEND_TEST_PREFIX. Prints
// "PASS <check>" or "FAIL <check>: <why>" per check (other lines are notes) and exits 1 when any failed.
//
// Every expected figure is derived from what this program asked the SDK to send, plus the SDK's documented design
// (sdk/typescript/README.md, "Runs"): a run adds one summary event with the run's duration and outcome, the
// provider and model of its last event, no tokens and `cost_usd: 0`. Money is counted in whole nano-dollars (as
// the server keeps it) and compared with the API's number as `nanos / 1e9`, the double nearest that decimal.
import { gunzipSync } from "node:zlib";
import { AgentSpend, SpendRefusedError } from "../dist/index.js";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const URL_ = env("AGENTSPEND_URL").replace(/\/+$/, "");
const KEY = env("AGENTSPEND_KEY");
const ADMIN_KEY = env("AGENTSPEND_ADMIN_KEY");
const THROTTLED_URL = env("AGENTSPEND_THROTTLED_URL").replace(/\/+$/, "");
const PREFIX = process.env.AGENTSPEND_TEST_PREFIX || "ts";

const PROVIDER = "anthropic";
const MODEL = "claude-sonnet-4-5";
const NANOS = 1_000_000_000; // nano-dollars per dollar
const COST_NANOS = 12_500_000; // $0.0125 per event
const COST = COST_NANOS / NANOS; // 0.0125, the double JSON.stringify writes as "0.0125"
const POLL_INTERVAL_MS = 200; // between reads of a figure that is still being counted
const POLL_LIMIT_MS = 60_000; // how long a figure may take to be counted
const SETTLE_MS = 1_500; // wait after the count is reached, to see that nothing more arrives (no double counting)

let failures = 0;

// ---------------------------------------------------------------------------------------------- helpers

class CheckFailed extends Error {}

function expect(condition, why) {
  if (!condition) throw new CheckFailed(why);
}

function expectEqual(name, actual, expected) {
  const same = typeof expected === "object" && expected !== null ? JSON.stringify(actual) === JSON.stringify(expected) : actual === expected;
  if (!same) throw new CheckFailed(`${name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** A dollar figure of the API against whole nano-dollars: the API's decimal, parsed, is the double nearest nanos/1e9. */
function expectUsd(name, actual, nanos) {
  if (typeof actual !== "number" || actual !== nanos / NANOS)
    throw new CheckFailed(`${name}: expected ${nanos / NANOS} (${nanos} nano-dollars), got ${JSON.stringify(actual)}`);
}

const note = (text) => console.log(`  note: ${text}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function runCheck(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (err) {
    failures++;
    if (err instanceof CheckFailed) console.log(`FAIL ${name}: ${err.message}`);
    else {
      console.log(`FAIL ${name}: ${err?.name ?? "Error"}: ${err?.message ?? err}`);
      console.log(err?.stack ?? "");
    }
  }
}

/** Plain HTTP to the app (not through the SDK). */
async function api(method, path, body, { key = ADMIN_KEY, base = URL_ } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, accept: "application/json", "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function getOk(path) {
  const r = await api("GET", path);
  expect(r.status === 200, `GET ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Polls the overview until it counts `expectedEvents` (or more), then reads it again after SETTLE_MS. */
async function overviewWhenCounted(query, expectedEvents) {
  const path = `/api/v1/metrics/overview?range=today${query}`;
  const deadline = Date.now() + POLL_LIMIT_MS;
  let overview = await getOk(path);
  while (overview.events < expectedEvents && Date.now() < deadline) {
    await sleep(POLL_INTERVAL_MS);
    overview = await getOk(path);
  }
  expect(overview.events >= expectedEvents, `${path}: ${overview.events} events counted after ${POLL_LIMIT_MS / 1000} s, expected ${expectedEvents}`);
  await sleep(SETTLE_MS);
  return getOk(path);
}

/** The figures of events as this program asked the SDK to send them (cost in nano-dollars). */
function totalsOf(events) {
  const sum = (f) => events.reduce((s, e) => s + (f(e) ?? 0), 0);
  return {
    events: events.length,
    input_tokens: sum((e) => e.input_tokens),
    output_tokens: sum((e) => e.output_tokens),
    cost_nanos: sum((e) => e.cost_nanos),
  };
}

function expectTotals(what, actual, expected) {
  for (const [name, value] of Object.entries(expected)) {
    if (name === "cost_nanos") expectUsd(`${what} cost_usd`, actual.cost_usd, value);
    else expectEqual(`${what} ${name}`, actual[name], value);
  }
}

/**
 * The SDK's `fetch` option wrapped to keep every request's method, path, body (gunzipped) and status, so a check
 * can see what went over the wire (the 429, the resent body).
 */
function recordingFetch() {
  const calls = [];
  const fn = async (url, init = {}) => {
    const res = await fetch(url, init);
    const raw = init.body;
    let bytes;
    if (typeof raw === "string") bytes = Buffer.from(raw, "utf8");
    else if (raw) bytes = Buffer.from(raw);
    const headers = new Headers(init.headers);
    const text = bytes ? (headers.get("content-encoding") === "gzip" ? gunzipSync(bytes) : bytes).toString("utf8") : undefined;
    const copy = res.clone();
    calls.push({
      method: init.method ?? "GET",
      path: new URL(String(url)).pathname,
      bytes,
      text,
      status: res.status,
      retryAfter: res.headers.get("retry-after"),
      answer: await copy.text(),
    });
    return res;
  };
  fn.calls = calls;
  return fn;
}

function reporters() {
  const rejected = [];
  const failed = [];
  return {
    rejected,
    failed,
    options: { onRejected: (r) => rejected.push(...r), onError: (f) => failed.push(f) },
  };
}

function expectDelivered(client, sent, { rejected, failed }) {
  expect(rejected.length === 0, `the server refused events: ${rejected.slice(0, 5).map((r) => `#${r.index} ${r.field ?? ""}: ${r.reason}`).join("; ")}`);
  expect(failed.length === 0, `events not delivered: ${failed.map((f) => `${f.kind} ${f.status ?? ""} ${f.message ?? ""} (${f.events.length})`).join("; ")}`);
  const s = client.stats;
  expectEqual("stats", { delivered: s.delivered, rejected: s.rejected, failed: s.failed, dropped: s.dropped, pending: s.pending },
    { delivered: sent, rejected: 0, failed: 0, dropped: 0, pending: 0 });
}

/** An event as sent, and beside it its cost in nano-dollars (a field the SDK passes on and the server ignores is not wanted, so it is kept apart). */
function event(agent, inputTokens, outputTokens, extra = {}) {
  return { agent_name: agent, provider: PROVIDER, model: MODEL, input_tokens: inputTokens, output_tokens: outputTokens, cost_usd: COST, ...extra };
}
const withNanos = (e) => ({ ...e, cost_nanos: Math.round(e.cost_usd * NANOS) });

// ---------------------------------------------------------------------------------------------- checks

async function recordAndReadBack() {
  const rep = reporters();
  const client = new AgentSpend({ baseUrl: URL_, apiKey: KEY, flushOnExit: false, ...rep.options });
  try {
    // 120 events over three agents; the SDK adds timestamp (now) and a UUID v7 idempotency key to each.
    const plain = Array.from({ length: 120 }, (_, i) => event(`${PREFIX}-worker-${i % 3}`, 100 + i, 20));
    for (const e of plain) expect(client.record(e), "record() refused an event");

    // A run: three events recorded through it, then (when it ends) the SDK's one summary event.
    const runAgent = `${PREFIX}-runner`;
    const inRun = [0, 1, 2].map((j) => event(runAgent, 1000, 20, { idempotency_key: `${PREFIX}-run-${j}` }));
    let runId;
    const pauseMs = 50; // the run lasts at least this long, so that its duration is a figure worth comparing
    const before = Date.now();
    await client.run(`${PREFIX}-run`, async (run) => {
      runId = run.id;
      for (const e of inRun) expect(run.record(e), "run.record() refused an event");
      expectEqual("run.events", run.events, inRun.length);
      await sleep(pauseMs);
    });
    const after = Date.now();
    // The summary as the SDK designs it (README "Runs"): provider and model of the run's last event, the run's
    // id, its name as task_type, duration_ms = its wall time, task_success true (the callback resolved), no tokens,
    // cost_usd 0. Its duration is not readable afterwards: it is read back from the run's stored
    // events below.
    const summary = { agent_name: runAgent, provider: inRun.at(-1).provider, model: inRun.at(-1).model, cost_usd: 0, task_success: true };

    expect(await client.flush({ timeoutMs: 30_000 }), "flush() did not finish within 30 s");
    const everything = [...plain, ...inRun, summary].map(withNanos);
    expectDelivered(client, everything.length, rep);

    const expected = {
      ...totalsOf(everything),
      successes: 1, // the summary's task_success
      failures: 0,
      server_priced_events: 0, // every event, the summary too (cost_usd 0), came with a cost
      unpriced_events: 0,
    };
    const overview = await overviewWhenCounted("", expected.events);
    expectTotals("overview", overview, expected);
    note(`overview today: ${expected.events} events, ${expected.input_tokens} input and ${expected.output_tokens} output tokens, ` +
      `$${expected.cost_nanos / NANOS}, ${expected.successes} success, ${expected.server_priced_events} server-priced`);

    // The run's stored events: its three, and the summary as the SDK designs it. Only the summary carries a
    // duration, so the overview's duration_ms is the summary's, which is at most the run's wall time.
    const stored = (await getOk(`/api/v1/runs/${encodeURIComponent(runId)}/events?limit=500`)).items;
    expectEqual("stored events of the run", stored.length, inRun.length + 1);
    const summaries = stored.filter((e) => e.tags?.["agentspend.event"] === "run_summary");
    expectEqual("stored run summaries", summaries.length, 1);
    const s = summaries[0];
    expectEqual("stored summary", {
      agent: s.agent, provider: s.provider, model: s.model, run_id: s.run_id, task_type: s.task_type, task_success: s.task_success,
      input_tokens: s.input_tokens, output_tokens: s.output_tokens, cost_usd: s.cost_usd,
    }, {
      agent: summary.agent_name, provider: summary.provider, model: summary.model, run_id: runId, task_type: `${PREFIX}-run`, task_success: true,
      input_tokens: 0, output_tokens: 0, cost_usd: 0,
    });
    expect(Number.isInteger(s.duration_ms) && s.duration_ms >= pauseMs - 1 && s.duration_ms <= after - before,
      `the summary's duration_ms ${s.duration_ms} is not within the run's pause and wall time (${pauseMs - 1}..${after - before} ms)`);
    expect(stored.filter((e) => e !== s).every((e) => e.duration_ms == null), "an event of the run other than the summary carries a duration");
    expectEqual("overview duration_ms (the summary's)", overview.duration_ms, s.duration_ms);
    note(`run ${runId}: summary duration ${s.duration_ms} ms (wall time ${after - before} ms)`);

    // The run, as the runs list shows it: its three events and its summary.
    const runExpected = totalsOf([...inRun, summary].map(withNanos));
    const path = "/api/v1/runs?range=today";
    const deadline = Date.now() + POLL_LIMIT_MS;
    let found;
    for (;;) {
      found = (await getOk(path)).items.find((r) => r.id === runId);
      if ((found && found.events >= runExpected.events) || Date.now() > deadline) break;
      await sleep(POLL_INTERVAL_MS);
    }
    expect(found, `run ${runId} not in ${path} after ${POLL_LIMIT_MS / 1000} s`);
    expectTotals("run", found, runExpected);
    expectEqual("run agent", found.agent, runAgent);
    expectEqual("run successes", found.successes, 1);
    expectEqual("run duration_ms", found.duration_ms, overview.duration_ms);
  } finally {
    await client.close({ timeoutMs: 5_000 });
  }
}

async function retryAfter429LandsOnce() {
  const rep = reporters();
  const fetchLog = recordingFetch();
  // Retry-After is 1 s: maxRetryTimeMs leaves room for many such waits (at least 2 s as asked).
  const client = new AgentSpend({
    baseUrl: THROTTLED_URL, apiKey: KEY, flushOnExit: false, flushIntervalMs: 50,
    maxRetryTimeMs: 30_000, initialBackoffMs: 500, maxBackoffMs: 5_000, fetch: fetchLog, ...rep.options,
  });
  const agent = `${PREFIX}-throttled`;
  const sent = [];
  const ingest = () => fetchLog.calls.filter((c) => c.method === "POST" && c.path === "/api/v1/ingest");
  const retries = () => ingest().filter((c) => c.status === 429).length; // the SDK resends after each one
  let pairs = 0;
  try {
    // The first POST of a pair takes the key's only token on the throttled instance; the second, sent as soon as
    // the first is answered, meets the empty bucket unless the once-a-second refill fell between.
    while (pairs < 3) {
      pairs++;
      for (let half = 0; half < 2; half++) {
        for (let k = 0; k < 10; k++) {
          const n = sent.length;
          const e = event(agent, 10 + n, 5, { idempotency_key: `${PREFIX}-throttled-${n}` });
          expect(client.record(e), "record() refused an event");
          sent.push(e);
        }
        expect(await client.flush({ timeoutMs: 30_000 }), "flush() did not finish within 30 s");
      }
      if (retries() >= 1) break;
      note(`pair ${pairs}: no 429 met (the bucket refilled between the two POSTs); another pair`);
    }
    // The TypeScript client keeps no retry counter (stats has recorded/delivered/rejected/failed/dropped/pending):
    // its retries are counted on the wire, through its `fetch` option.
    expect(retries() >= 1, `no 429 met after ${pairs} pairs`);
    expectDelivered(client, sent.length, rep);

    const calls = ingest();
    const limited = calls.map((c, i) => (c.status === 429 ? i : -1)).filter((i) => i >= 0);
    const first = calls[limited[0]];
    expectEqual("429 Retry-After", first.retryAfter, "1");
    expectEqual("429 reason", JSON.parse(first.answer).reason, "rate_limited");
    for (const i of limited) // each refused body was sent again, byte for byte (same idempotency keys)
      expect(i + 1 < calls.length && Buffer.compare(calls[i + 1].bytes, calls[i].bytes) === 0, "the request after a 429 did not resend the same body");
    expectEqual("ingest requests answered 202", calls.filter((c) => c.status === 202).length, 2 * pairs);
    const keysSent = calls.filter((c) => c.status === 202).flatMap((c) => JSON.parse(c.text).events.map((e) => e.idempotency_key));
    expectEqual("idempotency keys delivered", keysSent, sent.map((e) => e.idempotency_key));
    note(`${pairs} pair(s), ${calls.length} ingest POSTs, ${limited.length} answered 429 and resent`);

    const overview = await overviewWhenCounted(`&agent=${encodeURIComponent(agent)}`, sent.length);
    const t = totalsOf(sent.map(withNanos));
    expectTotals("overview", overview, t);
    note(`overview agent=${agent}: ${t.events} events, ${t.input_tokens} input and ${t.output_tokens} output tokens, $${t.cost_nanos / NANOS}`);
  } finally {
    await client.close({ timeoutMs: 5_000 });
  }
}

async function checkRaisesKilled() {
  const agent = `${PREFIX}-killable`;
  const estimate = 0.01;
  const rep = reporters();
  // failOpen false: an unreachable service must not pass for "allowed".
  const client = new AgentSpend({ baseUrl: URL_, apiKey: KEY, failOpen: false, flushOnExit: false, ...rep.options });
  // Only an agent that has sent usage to the workspace can be killed (404 otherwise): one event first.
  expect(client.record(event(agent, 1, 1, { idempotency_key: `${PREFIX}-killable-0` })), "record() refused an event");
  expect(await client.flush({ timeoutMs: 30_000 }), "flush() did not finish within 30 s");
  expectDelivered(client, 1, rep);
  const kill = await api("POST", `/api/v1/agents/${encodeURIComponent(agent)}/kill`, { reason: "sdk test" });
  expect(kill.status >= 200 && kill.status < 300, `kill answered ${kill.status}: ${JSON.stringify(kill.body)}`);
  let refused;
  try {
    await client.check({ agent_name: agent, estimated_cost_usd: estimate });
  } catch (err) {
    refused = err;
  }
  expect(refused instanceof SpendRefusedError, `check() of a killed agent did not throw SpendRefusedError (${refused ?? "it resolved"})`);
  expectEqual("refusal reason", refused.reason, "killed");
  expectEqual("refusal status", refused.status, 429);

  const resume = await api("POST", `/api/v1/agents/${encodeURIComponent(agent)}/resume`);
  expectEqual("resume status", resume.status, 204);
  const result = await client.check({ agent_name: agent, estimated_cost_usd: estimate });
  expect(result.allowed === true && result.failedOpen === false, `check after resume: ${JSON.stringify(result)}`);
  await client.close();
}

async function reserveAndReleaseWithinBudget() {
  const agent = `${PREFIX}-budgeted`;
  const limitNanos = 1_000_000_000; // $1.0
  const estimateNanos = 600_000_000; // $0.6
  const limit = limitNanos / NANOS;
  const estimate = estimateNanos / NANOS;
  const created = await api("POST", "/api/v1/budgets", {
    name: `${PREFIX} block`, scope: "agent", scope_value: agent, metric: "cost_usd", period: "daily",
    limit, thresholds: [100], action: "block",
  });
  expectEqual("budget creation status", created.status, 201);
  const budgetId = created.body.id;
  const fetchLog = recordingFetch();
  const client = new AgentSpend({ baseUrl: URL_, apiKey: KEY, failOpen: false, flushOnExit: false, fetch: fetchLog });

  const first = await client.reserve({ agent_name: agent, estimated_cost_usd: estimate });
  expect(first.allowed && !first.failedOpen, `first reserve not allowed: ${JSON.stringify(first.raw)}`);
  expect(first.reservation?.id, `first reserve holds nothing: ${JSON.stringify(first.raw)}`);
  expect(first.reservation.budgetIds.includes(budgetId), `reservation budget_ids ${first.reservation.budgetIds} lack ${budgetId}`);
  expectUsd("remaining after the first reserve", first.remaining[budgetId], limitNanos - estimateNanos);

  let refused;
  try {
    await client.reserve({ agent_name: agent, estimated_cost_usd: estimate });
  } catch (err) {
    refused = err;
  }
  expect(refused instanceof SpendRefusedError, `a second reserve of ${estimate} against ${limit} with ${estimate} held did not throw SpendRefusedError (${refused ?? "allowed"})`);
  expectEqual("second reserve: reason", refused.reason, "budget_exceeded");
  const b = refused.budget ?? {};
  expectEqual("refusal budget id", b.id, budgetId);
  expectUsd("refusal budget limit", b.limit, limitNanos);
  expectUsd("refusal budget used (the first hold)", b.used, estimateNanos);
  expectUsd("refusal budget remaining", b.remaining, limitNanos - estimateNanos);

  expectEqual("release of the first reservation", await client.release(first), true);

  // A released hold keeps counting for checks whose usage was measured before the release plus 2 s of clock
  // margin (docs/governance.md, "Reservations"; budgets are re-read once a second): retry for a while.
  const deadline = Date.now() + 15_000;
  let attempts = 0;
  let again;
  for (;;) {
    attempts++;
    try {
      again = await client.reserve({ agent_name: agent, estimated_cost_usd: estimate });
      break;
    } catch (err) {
      expect(err instanceof SpendRefusedError && err.reason === "budget_exceeded", `reserve after release: ${err}`);
      expect(Date.now() < deadline, `reserve still refused 15 s after the release (${attempts} tries)`);
      await sleep(250);
    }
  }
  note(`the reserve after the release was allowed at try ${attempts}`);
  expect(again.allowed && again.reservation?.id, `reserve after release holds nothing: ${JSON.stringify(again.raw)}`);
  expectUsd("remaining after reserving again", again.remaining[budgetId], limitNanos - estimateNanos);
  expectEqual("release of the second reservation", await client.release(again.reservation), true);
  expectEqual("releasing it again", await client.release(again.reservation.id), false);
  const deletes = fetchLog.calls.filter((c) => c.method === "DELETE").map((c) => c.status);
  expectEqual("DELETE statuses (first, second, second again)", deletes, [204, 204, 404]);
  await client.close();
}

console.log(`agentspend TypeScript SDK against ${URL_} (throttled: ${THROTTLED_URL}), prefix ${PREFIX}`);
await runCheck("record-and-read-back", recordAndReadBack);
await runCheck("retry-after-429-lands-once", retryAfter429LandsOnce);
await runCheck("check-raises-killed", checkRaisesKilled);
await runCheck("reserve-and-release-within-budget", reserveAndReleaseWithinBudget);
process.exitCode = failures ? 1 : 0;
