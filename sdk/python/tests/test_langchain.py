"""The LangChain handler against fake objects shaped like langchain_core's (LLMResult,
ChatGeneration, AIMessage with usage_metadata)."""

from __future__ import annotations

import unittest
import uuid
from types import SimpleNamespace

import _support
from _support import FakeTransport, make_client

from agentspend.langchain import AgentSpendCallbackHandler


def chat_result(usage_metadata, response_metadata, llm_output=None):
    message = SimpleNamespace(content="(not read)", usage_metadata=usage_metadata, response_metadata=response_metadata)
    generation = SimpleNamespace(text="(not read)", message=message, generation_info={})
    return SimpleNamespace(generations=[[generation]], llm_output=llm_output)


class LangChainHandlerTests(unittest.TestCase):
    def setUp(self):
        self.t = FakeTransport()
        self.client = make_client(self.t)
        self.handler = AgentSpendCallbackHandler(self.client, team="ops")

    def events(self):
        self.client.close(2)
        return [e for b in self.t.batches() for e in b]

    def test_openai_call_inside_a_chain(self):
        chain, llm = uuid.uuid4(), uuid.uuid4()
        h = self.handler
        h.on_chain_start({"id": ["langchain", "schema", "runnable", "RunnableSequence"]}, {}, run_id=chain)
        h.on_chat_model_start({"id": ["langchain", "chat_models", "openai", "ChatOpenAI"]}, [[]], run_id=llm, parent_run_id=chain)
        h.on_llm_end(chat_result(
            {"input_tokens": 2150, "output_tokens": 930, "total_tokens": 3080,
             "input_token_details": {"audio": 0, "cache_read": 1536},
             "output_token_details": {"audio": 0, "reasoning": 640}},
            {"model_name": "o4-mini-2025-04-16", "finish_reason": "stop"},
            {"token_usage": {"prompt_tokens": 2150}, "model_name": "o4-mini-2025-04-16"}),
            run_id=llm, parent_run_id=chain)
        h.on_chain_end({}, run_id=chain)
        (event,) = self.events()
        event.pop("timestamp")
        self.assertEqual(event, {
            "provider": "openai", "model": "o4-mini-2025-04-16", "input_tokens": 614, "output_tokens": 930,
            "cache_read_tokens": 1536, "reasoning_tokens": 640, "idempotency_key": "langchain:" + str(llm),
            "team": "ops", "framework": "langchain", "run_id": str(chain), "agent_name": "bot"})
        self.assertEqual(h._parents, {})

    def test_anthropic_call_with_cache_writes(self):
        llm = uuid.uuid4()
        self.handler.on_chat_model_start({"id": ["langchain", "chat_models", "anthropic", "ChatAnthropic"]}, [[]], run_id=llm)
        self.handler.on_llm_end(chat_result(
            {"input_tokens": 1234 + 4321 + 789, "output_tokens": 56, "total_tokens": 6400,
             "input_token_details": {"cache_read": 4321, "cache_creation": 789,
                                     "ephemeral_1h_input_tokens": 89, "ephemeral_5m_input_tokens": 700}},
            {"model": "claude-opus-4-8", "model_provider": "anthropic"}), run_id=llm)
        (event,) = self.events()
        self.assertEqual({k: event.get(k) for k in ("provider", "model", "input_tokens", "output_tokens", "cache_read_tokens",
                                                    "cache_write_tokens", "cache_write_1h_tokens", "run_id")},
                         {"provider": "anthropic", "model": "claude-opus-4-8", "input_tokens": 1234, "output_tokens": 56,
                          "cache_read_tokens": 4321, "cache_write_tokens": 789, "cache_write_1h_tokens": 89,
                          "run_id": str(llm)})

    def test_llm_output_token_usage_fallback(self):
        llm = uuid.uuid4()
        result = SimpleNamespace(
            generations=[[SimpleNamespace(text="(not read)", generation_info={})]],
            llm_output={"token_usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                                        "prompt_tokens_details": {"cached_tokens": 40}},
                        "model_name": "gpt-4o-mini"})
        self.handler.on_llm_end(result, run_id=llm)
        (event,) = self.events()
        self.assertEqual((event["provider"], event["model"], event["input_tokens"], event["output_tokens"],
                          event["cache_read_tokens"]), ("openai", "gpt-4o-mini", 60, 20, 40))

    def test_inside_an_agentspend_run_the_run_id_is_the_runs(self):
        llm, chain = uuid.uuid4(), uuid.uuid4()
        with self.client.run("triage") as run:
            self.handler.on_chain_start({}, {}, run_id=chain)
            self.handler.on_llm_start({"id": ["langchain", "llms", "openai", "OpenAI"]}, ["(not read)"], run_id=llm, parent_run_id=chain)
            self.handler.on_llm_end(chat_result({"input_tokens": 10, "output_tokens": 1}, {"model_name": "gpt-4o"}),
                                    run_id=llm, parent_run_id=chain)
        events = self.events()
        self.assertEqual([(e["run_id"], e.get("input_tokens")) for e in events], [(run.run_id, 10), (run.run_id, None)])

    def test_no_usage_records_nothing_and_errors_never_raise(self):
        self.handler.on_llm_end(SimpleNamespace(generations=[[SimpleNamespace(text="x")]], llm_output=None), run_id=uuid.uuid4())
        self.handler.on_llm_end(object(), run_id=uuid.uuid4())
        self.handler.on_llm_error(RuntimeError("boom"), run_id=uuid.uuid4())
        self.assertEqual(self.events(), [])

    def test_has_the_callback_manager_attributes(self):
        for name in ("raise_error", "run_inline", "ignore_llm", "ignore_chain", "ignore_chat_model"):
            self.assertFalse(getattr(self.handler, name))


if __name__ == "__main__":
    unittest.main()
