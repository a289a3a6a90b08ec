from __future__ import annotations

import asyncio
import unittest

import _support
from _support import FakeClock, FakeTransport, make_client

from agentspend import current_run


class RunTests(unittest.TestCase):
    def setUp(self):
        self.t = FakeTransport()
        self.clock = FakeClock()
        self.client = make_client(self.t, self.clock)

    def events(self):
        self.client.close(2)
        return [e for b in self.t.batches() for e in b]

    def test_run_stamps_events_and_records_a_summary(self):
        with self.client.run("triage") as run:
            self.assertIs(current_run(), run)
            self.client.record(provider="openai", model="gpt-4o", input_tokens=5)
            self.clock.now += 2.5
            self.client.record(provider="anthropic", model="claude-sonnet-4-5", input_tokens=7)
        self.assertIsNone(current_run())
        self.client.record(provider="openai", model="gpt-4o", input_tokens=9)
        events = self.events()
        self.assertEqual(len(events), 4)
        a, b, summary, outside = events
        self.assertRegex(run.run_id, r"^[0-9a-f-]{14}7")
        for e in (a, b):
            self.assertEqual((e["run_id"], e["task_type"]), (run.run_id, "triage"))
            self.assertNotIn("task_success", e)
            self.assertNotIn("duration_ms", e)
        self.assertEqual({k: v for k, v in summary.items() if k not in ("timestamp", "idempotency_key")}, {
            "agent_name": "bot", "provider": "anthropic", "model": "claude-sonnet-4-5", "run_id": run.run_id,
            "task_type": "triage", "duration_ms": 2500, "task_success": True})
        self.assertNotIn("input_tokens", summary)
        self.assertNotIn("run_id", outside)
        self.assertEqual((run.events, run.duration_ms, run.success), (2, 2500, None))

    def test_exception_marks_failure_and_propagates(self):
        with self.assertRaises(KeyError):
            with self.client.run("triage") as run:
                self.client.record(provider="openai", model="gpt-4o")
                raise KeyError("x")
        self.assertIs(self.events()[-1]["task_success"], False)

    def test_explicit_outcome_wins(self):
        with self.client.run("a") as run:
            self.client.record(provider="openai", model="gpt-4o")
            run.fail()
        with self.assertRaises(ValueError):
            with self.client.run("b") as run2:
                self.client.record(provider="openai", model="gpt-4o")
                run2.succeed()
                raise ValueError()
        events = self.events()
        self.assertEqual([e.get("task_success") for e in events], [None, False, None, True])

    def test_run_without_events_needs_provider_and_model(self):
        with self.client.run("idle"):
            pass
        with self.client.run("given", provider="openai", model="gpt-4o", agent_name="other") as run:
            pass
        events = self.events()
        self.assertEqual(len(events), 1)
        self.assertEqual((events[0]["run_id"], events[0]["agent_name"], events[0]["task_success"]), (run.run_id, "other", True))

    def test_nested_runs(self):
        with self.client.run("outer") as outer:
            with self.client.run("inner") as inner:
                self.client.record(provider="openai", model="gpt-4o")
            self.client.record(provider="openai", model="gpt-4o")
        events = self.events()
        self.assertEqual([(e["run_id"], e["task_type"]) for e in events], [
            (inner.run_id, "inner"), (inner.run_id, "inner"), (outer.run_id, "outer"), (outer.run_id, "outer")])
        self.assertEqual([("duration_ms" in e) for e in events], [False, True, False, True])

    def test_async_tasks_keep_their_own_run(self):
        async def task(name, tokens):
            async with self.client.run(name) as run:
                await asyncio.sleep(0)
                self.client.record(provider="openai", model="gpt-4o", input_tokens=tokens)
                await asyncio.sleep(0)
                return run.run_id

        async def main():
            return await asyncio.gather(task("a", 1), task("b", 2))

        ids = asyncio.run(main())
        events = [e for e in self.events() if "input_tokens" in e]
        self.assertEqual(sorted((e["task_type"], e["input_tokens"], e["run_id"]) for e in events),
                         [("a", 1, ids[0]), ("b", 2, ids[1])])


if __name__ == "__main__":
    unittest.main()
