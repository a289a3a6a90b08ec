from __future__ import annotations

import json
import unittest

import _support
from _support import FakeTransport, make_client

from agentspend import AgentSpendError, HttpResponse, SpendRefused


def ok(body, code=200, headers=None):
    return HttpResponse(code, headers or {}, json.dumps(body).encode())


REFUSAL = {"allowed": False, "reason": "budget_exceeded",
           "budget": {"id": "b1", "used": 9.5, "limit": 10, "remaining": 0.5, "period_end": "2026-12-01T00:00:00+00:00"},
           "resume_at": "2026-12-01T00:00:00+00:00"}


class CheckTests(unittest.TestCase):
    def test_check_allowed_sends_the_fields(self):
        t = FakeTransport([ok({"allowed": True, "remaining": {"b1": 4.5}})])
        client = make_client(t)
        result = client.check(model="gpt-4o", estimated_cost_usd=0.25, team="ops")
        self.assertTrue(result.allowed)
        self.assertEqual(result.remaining, {"b1": 4.5})
        self.assertIsNone(result.reservation)
        req = t.requests[0]
        self.assertEqual((req["method"], req["url"]), ("POST", "http://agentspend.test/api/v1/check"))
        self.assertEqual(req["headers"]["Authorization"], "Bearer secret-key-123")
        self.assertEqual(json.loads(req["body"]), {"agent_name": "bot", "team": "ops", "model": "gpt-4o", "estimated_cost_usd": 0.25})

    def test_reserve_and_release(self):
        t = FakeTransport([
            ok({"allowed": True, "remaining": {"b1": 4.0}, "reservation": {"id": "r 1", "expires_at": "2026-12-01T00:10:00Z", "budget_ids": ["b1"]}}),
            HttpResponse(204, {}, b""),
            HttpResponse(404, {}, b'{"error":"not open"}'),
        ])
        client = make_client(t)
        result = client.reserve(0.5, estimated_tokens=None, reservation_ttl_seconds=120)
        self.assertEqual(json.loads(t.requests[0]["body"]),
                         {"agent_name": "bot", "estimated_cost_usd": 0.5, "reservation_ttl_seconds": 120, "reserve": True})
        self.assertEqual((result.reservation.id, result.reservation.budget_ids), ("r 1", ["b1"]))
        self.assertTrue(client.release(result))
        self.assertEqual((t.requests[1]["method"], t.requests[1]["url"]),
                         ("DELETE", "http://agentspend.test/api/v1/check/reservations/r%201"))
        self.assertIsNone(t.requests[1]["body"])
        self.assertFalse(client.release("r 1"))

    def test_refusal_raises_typed_error(self):
        for reason in ("killed", "agent_paused", "budget_exceeded"):
            body = dict(REFUSAL, reason=reason)
            client = make_client(FakeTransport([ok(body, 429, {"Retry-After": "30"})]))
            with self.assertRaises(SpendRefused) as ctx:
                client.check(estimated_cost_usd=1)
            err = ctx.exception
            self.assertEqual(err.reason, reason)
            self.assertEqual(err.budget, REFUSAL["budget"])
            self.assertEqual(err.resume_at, "2026-12-01T00:00:00+00:00")
            self.assertEqual(err.retry_after, 30.0)
            self.assertEqual(err.status, 429)

    def test_refusal_without_raising(self):
        client = make_client(FakeTransport([ok(REFUSAL, 429)]))
        result = client.check(estimated_cost_usd=1, raise_on_refusal=False)
        self.assertFalse(result.allowed)
        self.assertEqual(result.reason, "budget_exceeded")

    def test_unreachable_fail_open_and_closed(self):
        client = make_client(FakeTransport([ConnectionRefusedError(), HttpResponse(503, {}, b"")]))
        first = client.check(estimated_cost_usd=1)
        self.assertEqual((first.allowed, first.degraded, first.reason), (True, True, "unreachable"))
        second = client.check(estimated_cost_usd=1)
        self.assertEqual((second.allowed, second.degraded), (True, True))

        closed = make_client(FakeTransport([TimeoutError(), HttpResponse(500, {}, b"")]), fail_open=False)
        for _ in range(2):
            with self.assertRaises(SpendRefused) as ctx:
                closed.check(estimated_cost_usd=1)
            self.assertEqual(ctx.exception.reason, "unreachable")

    def test_bad_request_raises(self):
        client = make_client(FakeTransport([HttpResponse(401, {}, b'{"error":"invalid key"}')]))
        with self.assertRaises(AgentSpendError) as ctx:
            client.check()
        self.assertEqual(ctx.exception.status, 401)
        self.assertNotIsInstance(ctx.exception, SpendRefused)

    def test_check_in_a_run_carries_its_run_id(self):
        t = FakeTransport()
        client = make_client(t)
        with client.run("triage") as run:
            client.check(estimated_tokens=100)
        self.assertEqual(json.loads(t.requests[0]["body"])["run_id"], run.run_id)


if __name__ == "__main__":
    unittest.main()
