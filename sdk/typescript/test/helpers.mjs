// Test helpers: a fake fetch that records what the client sends, fake timers, a recording sleep.
import { gunzipSync } from "node:zlib";
import { AgentSpend } from "../dist/index.js";

export const BASE = "http://agentspend.test";
export const KEY = "as_test_secret_key_123";

/** A Response with a JSON body. */
export function json(status, body, headers = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export function accepted(n) {
  return json(202, { accepted: n, rejected: 0, errors: [], rejected_agents: [] });
}

/** A fetch that records each call and answers with `responder(call, n)` (a Response, or an Error to throw). */
export function fakeFetch(responder = (call) => accepted(call.json?.events?.length ?? 0)) {
  const calls = [];
  const fn = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    const raw = init.body;
    let text = "";
    if (typeof raw === "string") text = raw;
    else if (raw) {
      const buf = Buffer.from(raw);
      text = headers.get("content-encoding") === "gzip" ? gunzipSync(buf).toString("utf8") : buf.toString("utf8");
    }
    const call = { url: String(url), method: init.method ?? "GET", headers, raw, text, json: text ? JSON.parse(text) : undefined };
    calls.push(call);
    const r = await responder(call, calls.length);
    if (r instanceof Error) throw r;
    return r;
  };
  fn.calls = calls;
  return fn;
}

/** Timers the test fires by hand: `fire(ms)` runs the pending callbacks registered with that delay. */
export function fakeTimers() {
  const pending = new Map();
  let id = 0;
  return {
    pending,
    setTimeout(fn, ms) {
      const h = ++id;
      pending.set(h, { fn, ms });
      return h;
    },
    clearTimeout(h) {
      pending.delete(h);
    },
    fire(ms) {
      let n = 0;
      for (const [h, t] of [...pending]) {
        if (t.ms !== ms) continue;
        pending.delete(h);
        t.fn();
        n++;
      }
      return n;
    },
    count(ms) {
      return [...pending.values()].filter((t) => t.ms === ms).length;
    },
  };
}

/** A fake clock and a sleep that records each wait and moves the clock on. */
export function fakeClock(start = Date.parse("2026-01-01T00:00:00Z")) {
  const clock = { t: start, sleeps: [] };
  clock.now = () => clock.t;
  clock.sleep = async (ms) => {
    clock.sleeps.push(ms);
    clock.t += ms;
  };
  return clock;
}

export function makeClient(options = {}) {
  return new AgentSpend({
    baseUrl: BASE,
    apiKey: KEY,
    agentName: "tester",
    flushOnExit: false,
    sleep: async () => {},
    ...options,
  });
}

export async function waitFor(cond, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("waitFor: timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const tick = () => new Promise((r) => setTimeout(r, 0));

export function ev(i = 0, extra = {}) {
  return { provider: "openai", model: "gpt-5-mini", input_tokens: 10 + i, output_tokens: 5, ...extra };
}
