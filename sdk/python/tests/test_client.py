from __future__ import annotations

import json
import os
import re
import time
import unittest
from unittest import mock

import _support
from _support import FakeTransport, decode, make_client, wait_for

from agentspend import AgentSpend, AgentSpendError, UsageEvent


class ConfigTests(unittest.TestCase):
    def test_reads_env_and_hides_key(self):
        env = {"AGENTSPEND_URL": "https://spend.example/", "AGENTSPEND_KEY": "as_live_topsecret"}
        with mock.patch.dict(os.environ, env):
            client = AgentSpend(flush_at_exit=False)
        self.assertEqual(client.base_url, "https://spend.example")
        self.assertNotIn("topsecret", repr(client))
        self.assertNotIn("topsecret", str(client))
        self.assertNotIn("topsecret", repr(vars(client)))
        self.assertEqual(repr(client), "AgentSpend(base_url='https://spend.example', agent_name=None, api_key=***)")

    def test_missing_config_is_an_error(self):
        with mock.patch.dict(os.environ, {}, clear=True):
            with self.assertRaises(AgentSpendError):
                AgentSpend()
            with self.assertRaises(AgentSpendError):
                AgentSpend("https://x")


class RecordTests(unittest.TestCase):
    def test_record_fills_defaults_and_sends_gzip_with_headers(self):
        t = FakeTransport()
        client = make_client(t, defaults={"team": "ops"})
        self.assertTrue(client.record(UsageEvent(provider="openai", model="gpt-4o", input_tokens=10, output_tokens=2)))
        self.assertTrue(client.record({"provider": "anthropic", "model": "claude-sonnet-4-5", "idempotency_key": "k1"}, team="dev"))
        self.assertTrue(client.flush(5))
        self.assertEqual(len(t.requests), 1)
        req = t.requests[0]
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["url"], "http://agentspend.test/api/v1/ingest")
        self.assertEqual(req["headers"]["Authorization"], "Bearer secret-key-123")
        self.assertEqual(req["headers"]["Content-Encoding"], "gzip")
        self.assertEqual(req["headers"]["Content-Type"], "application/json")
        events = decode(req["body"])["events"]
        self.assertEqual(len(events), 2)
        a, b = events
        self.assertEqual(a["agent_name"], "bot")
        self.assertEqual(a["team"], "ops")
        self.assertEqual((a["provider"], a["model"], a["input_tokens"], a["output_tokens"]), ("openai", "gpt-4o", 10, 2))
        self.assertRegex(a["idempotency_key"], r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertRegex(a["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
        self.assertEqual(b["idempotency_key"], "k1")
        self.assertEqual(b["team"], "dev")
        self.assertEqual(client.sent, 2)
        self.assertEqual(client.dropped, 0)
        client.close(2)

    def test_record_returns_at_once_and_never_raises(self):
        client = make_client()
        self.assertFalse(client.record({"provider": "x", "model": "y", "cost_usd": float("nan")}))
        self.assertFalse(client.record(object()))  # type: ignore[arg-type]
        self.assertEqual(client.dropped, 2)
        client.close(1)

    def test_flush_by_size_1000_events(self):
        t = FakeTransport()
        client = make_client(t)  # flush_interval 60 s: only size can trigger
        for i in range(1000):
            client.record(provider="openai", model="gpt-4o", input_tokens=i)
        self.assertTrue(wait_for(lambda: len(t.requests) == 1))
        self.assertEqual([len(b) for b in t.batches()], [1000])
        self.assertEqual([e["input_tokens"] for e in t.batches()[0]], list(range(1000)))
        client.record(provider="openai", model="gpt-4o", input_tokens=1000)
        time.sleep(0.1)
        self.assertEqual(len(t.requests), 1)  # 1 event waits for its time
        client.close(2)
        self.assertEqual([len(b) for b in t.batches()], [1000, 1])

    def test_flush_by_bytes(self):
        t = FakeTransport()
        client = make_client(t, max_batch_bytes=2000)
        for i in range(6):
            client.record(provider="openai", model="gpt-4o", tags={"pad": "x" * 300}, idempotency_key="k%d" % i)
        self.assertTrue(client.flush(5))
        bodies = [len(json.dumps({"events": b}, separators=(",", ":")).encode()) for b in t.batches()]
        self.assertTrue(all(size <= 2000 for size in bodies), bodies)
        self.assertEqual(sum(len(b) for b in t.batches()), 6)
        self.assertEqual([e["idempotency_key"] for b in t.batches() for e in b], ["k0", "k1", "k2", "k3", "k4", "k5"])
        self.assertGreater(len(t.batches()), 1)
        # an event that alone exceeds the limit is dropped, not sent
        self.assertFalse(client.record(provider="openai", model="gpt-4o", tags={"pad": "x" * 3000}))
        self.assertEqual(client.dropped, 1)
        client.close(2)

    def test_flush_by_time(self):
        t = FakeTransport()
        client = make_client(t, flush_interval=0.2)
        start = time.monotonic()
        client.record(provider="openai", model="gpt-4o")
        self.assertTrue(wait_for(lambda: len(t.requests) == 1, 3))
        self.assertGreaterEqual(time.monotonic() - start, 0.19)
        self.assertEqual(len(t.batches()[0]), 1)
        client.close(2)

    def test_buffer_full_drops_and_counts(self):
        gate = __import__("threading").Event()
        dropped = []

        class Slow(FakeTransport):
            def request(self, *a, **k):
                gate.wait(5)
                return super().request(*a, **k)

        t = Slow()
        client = make_client(t, max_buffer=3, batch_size=1, on_dropped=lambda ev, why: dropped.append((len(ev), why)))
        results = [client.record(provider="p", model="m", idempotency_key=str(i)) for i in range(10)]
        # The sender may have taken the first event out before the buffer filled.
        accepted = results.count(True)
        self.assertIn(accepted, (3, 4))
        self.assertEqual(client.dropped, 10 - accepted)
        self.assertEqual(dropped, [(1, "buffer_full")] * (10 - accepted))
        gate.set()
        self.assertTrue(client.flush(5))
        self.assertEqual(client.sent, accepted)
        client.close(2)

    def test_close_deadline_drops_what_is_left(self):
        gate = __import__("threading").Event()

        class Stuck(FakeTransport):
            def request(self, *a, **k):
                gate.wait(5)
                return super().request(*a, **k)

        client = make_client(Stuck(), batch_size=1)
        for i in range(3):
            client.record(provider="p", model="m")
        self.assertFalse(client.close(0.2))
        self.assertEqual(client.dropped, 2)  # the one in flight is still being sent
        self.assertFalse(client.record(provider="p", model="m"))
        self.assertEqual(client.dropped, 3)
        gate.set()

    def test_context_manager_flushes(self):
        t = FakeTransport()
        with make_client(t) as client:
            client.record(provider="p", model="m")
        self.assertEqual(len(t.batches()), 1)
        self.assertEqual(client.sent, 1)

    def test_flush_with_nothing_recorded(self):
        client = make_client()
        self.assertTrue(client.flush(0.1))
        self.assertTrue(client.close(0.1))


if __name__ == "__main__":
    unittest.main()
