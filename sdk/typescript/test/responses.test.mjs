// The response helpers against the shared fixtures in ../fixtures; the expected events are read from
// ../fixtures/README.md ("Expected events"), so this suite and the fixtures cannot drift apart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  fromAnthropicMessage,
  fromOpenAIChatCompletion,
  fromOpenAIResponse,
  fromResponse,
} from "../dist/index.js";
import { fakeFetch, makeClient } from "./helpers.mjs";

const FIXTURES = new URL("../../fixtures/", import.meta.url);
const readme = readFileSync(new URL("README.md", FIXTURES), "utf8");

/** The JSON block that follows "`<file>` →" in the README. */
function expected(file) {
  const at = readme.indexOf("`" + file + "` →");
  assert.ok(at >= 0, `README names ${file}`);
  const m = /```json\s*\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, `README has the expected event of ${file}`);
  return JSON.parse(m[1]);
}

const fixture = (file) => readFileSync(new URL(file, FIXTURES), "utf8");

const cases = [
  ["anthropic-messages.json", fromAnthropicMessage],
  ["openai-chat-completion.json", fromOpenAIChatCompletion],
  ["openai-responses.json", fromOpenAIResponse],
];

for (const [file, helper] of cases) {
  test(`${helper.name}: ${file} gives exactly the README's event (object and JSON text)`, () => {
    const want = expected(file);
    assert.deepEqual(helper(JSON.parse(fixture(file))), want);
    assert.deepEqual(helper(fixture(file)), want);
    assert.deepEqual(fromResponse(fixture(file)), want, "fromResponse tells the shape apart");
  });
}

test("nothing of the prompt or output is carried", () => {
  for (const [file, helper] of cases) {
    const text = JSON.stringify(helper(fixture(file)));
    assert.ok(!text.includes("placeholder"), file);
    assert.ok(!/content|choices|output"/.test(text), file);
  }
});

test("absent sources are left out; zero stays zero; extra fields win", () => {
  assert.deepEqual(fromOpenAIChatCompletion({ id: "c1", model: "gpt-4o", usage: { prompt_tokens: 10, completion_tokens: 0 } }), {
    provider: "openai",
    model: "gpt-4o",
    input_tokens: 10,
    output_tokens: 0,
    idempotency_key: "c1",
  });
  assert.deepEqual(fromAnthropicMessage({ type: "message", model: "claude-haiku-4-5", usage: { input_tokens: 3, output_tokens: 4 } }), {
    provider: "anthropic",
    model: "claude-haiku-4-5",
    input_tokens: 3,
    output_tokens: 4,
  });
  const withExtra = fromOpenAIResponse(JSON.parse(fixture("openai-responses.json")), { agent_name: "a", duration_ms: 12 });
  assert.equal(withExtra.agent_name, "a");
  assert.equal(withExtra.duration_ms, 12);
  assert.throws(() => fromResponse({ hello: 1 }), TypeError);
});

test("a helper's event records as is: the response id is the idempotency key", async () => {
  const fetch = fakeFetch();
  const c = makeClient({ fetch });
  c.record(fromResponse(fixture("anthropic-messages.json"), { duration_ms: 900 }));
  await c.flush();
  const e = fetch.calls[0].json.events[0];
  assert.equal(e.idempotency_key, "msg_mock_4fc6cdc7_0002");
  assert.equal(e.cache_write_1h_tokens, 0);
  assert.equal(e.agent_name, "tester");
  assert.equal(e.duration_ms, 900);
});
