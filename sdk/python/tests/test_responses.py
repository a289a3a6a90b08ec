from __future__ import annotations

import json
import os
import unittest
from types import SimpleNamespace

import _support
from _support import FIXTURES, FakeTransport, make_client

from agentspend import from_anthropic, from_openai_chat, from_openai_responses, from_response

EXPECTED = {
    "anthropic-messages.json": {
        "provider": "anthropic", "model": "claude-opus-4-8", "input_tokens": 1234, "output_tokens": 56,
        "cache_read_tokens": 4321, "cache_write_tokens": 789, "cache_write_1h_tokens": 0,
        "idempotency_key": "msg_mock_4fc6cdc7_0002"},
    "openai-chat-completion.json": {
        "provider": "openai", "model": "o4-mini-2025-04-16", "input_tokens": 614, "output_tokens": 930,
        "cache_read_tokens": 1536, "reasoning_tokens": 640, "idempotency_key": "chatcmpl-fixture0001"},
    "openai-responses.json": {
        "provider": "openai", "model": "gpt-5-mini-2025-08-07", "input_tokens": 1152, "output_tokens": 1480,
        "cache_read_tokens": 2048, "reasoning_tokens": 1216, "idempotency_key": "resp_fixture0001"},
}
HELPERS = {"anthropic-messages.json": from_anthropic, "openai-chat-completion.json": from_openai_chat,
           "openai-responses.json": from_openai_responses}


def fixture_text(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return f.read()


def to_object(value):
    """The shape of an SDK response object: attributes, not keys."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: to_object(v) for k, v in value.items()})
    if isinstance(value, list):
        return [to_object(v) for v in value]
    return value


class ResponseHelperTests(unittest.TestCase):
    def test_fixtures_map_to_the_expected_events(self):
        for name, expected in EXPECTED.items():
            text = fixture_text(name)
            data = json.loads(text)
            for form in (data, text, text.encode(), to_object(data)):
                with self.subTest(name=name, form=type(form).__name__):
                    self.assertEqual(HELPERS[name](form).to_dict(), expected)
                    self.assertEqual(from_response(form).to_dict(), expected)

    def test_fields_are_added(self):
        event = from_openai_chat(fixture_text("openai-chat-completion.json"), agent_name="bot", provider="azure_openai")
        self.assertEqual((event.agent_name, event.provider, event.input_tokens), ("bot", "azure_openai", 614))
        with self.assertRaises(TypeError):
            from_openai_chat(fixture_text("openai-chat-completion.json"), prompt="x")

    def test_anthropic_one_hour_share(self):
        data = json.loads(fixture_text("anthropic-messages.json"))
        data["usage"]["cache_creation_input_tokens"] = 900
        data["usage"]["cache_creation"] = {"ephemeral_1h_input_tokens": 600, "ephemeral_5m_input_tokens": 300}
        event = from_anthropic(data)
        self.assertEqual((event.cache_write_tokens, event.cache_write_1h_tokens), (900, 600))
        del data["usage"]["cache_creation"]
        event = from_anthropic(data)
        self.assertEqual((event.cache_write_tokens, event.cache_write_1h_tokens), (900, None))

    def test_absent_details_are_left_out(self):
        event = from_openai_chat({"id": "c", "object": "chat.completion", "model": "gpt-4o",
                                  "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}})
        self.assertEqual(event.to_dict(), {"provider": "openai", "model": "gpt-4o", "input_tokens": 10,
                                           "output_tokens": 3, "idempotency_key": "c"})

    def test_nothing_of_the_content_is_recorded(self):
        for name in EXPECTED:
            data = json.loads(fixture_text(name))
            self.assertNotIn("placeholder", json.dumps(from_response(data).to_dict()))

    def test_no_usage_is_an_error(self):
        with self.assertRaises(ValueError):
            from_response({"object": "chat.completion", "model": "gpt-4o"})
        with self.assertRaises(ValueError):
            from_response({"hello": 1})

    def test_record_response(self):
        t = FakeTransport()
        client = make_client(t)
        self.assertTrue(client.record_response(fixture_text("openai-responses.json"), team="ops"))
        client.close(2)
        event = t.batches()[0][0]
        self.assertEqual({k: event[k] for k in EXPECTED["openai-responses.json"]}, EXPECTED["openai-responses.json"])
        self.assertEqual((event["agent_name"], event["team"]), ("bot", "ops"))


if __name__ == "__main__":
    unittest.main()
