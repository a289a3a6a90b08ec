from __future__ import annotations

import email.utils
import json
import time
import unittest

import _support
from _support import FakeClock, FakeTransport, accepted, decode, make_client

from agentspend import HttpResponse, parse_retry_after


def status(code, retry_after=None, body=b"{}"):
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return HttpResponse(code, headers, body)


class RetryTests(unittest.TestCase):
    def run_one(self, script, **kwargs):
        t = FakeTransport(script)
        clock = FakeClock()
        rejected = []
        dropped = []
        client = make_client(t, clock, on_rejected=rejected.extend,
                             on_dropped=lambda ev, why: dropped.append((len(ev), why)), **kwargs)
        client.record(provider="openai", model="gpt-4o", input_tokens=1)
        client.record(provider="openai", model="gpt-4o", input_tokens=2)
        self.assertTrue(client.flush(5))
        client.close(1)
        return t, clock, client, rejected, dropped

    def test_backoff_with_full_jitter_then_success_same_body_and_keys(self):
        t, clock, client, _, _ = self.run_one(
            [ConnectionRefusedError("refused"), status(500), status(502), TimeoutError()],
            retry_initial_delay=0.5, retry_max_delay=30.0)
        self.assertEqual(len(t.requests), 5)
        # random() = 0.5: half of min(30, 0.5 * 2**attempt)
        self.assertEqual(clock.sleeps, [0.25, 0.5, 1.0, 2.0])
        bodies = {r["body"] for r in t.requests}
        self.assertEqual(len(bodies), 1)  # byte-identical on every try
        keys = [[e["idempotency_key"] for e in decode(r["body"])["events"]] for r in t.requests]
        self.assertEqual(len({tuple(k) for k in keys}), 1)
        self.assertEqual(len(set(keys[0])), 2)
        self.assertEqual((client.sent, client.dropped, client.retries), (2, 0, 4))

    def test_backoff_is_capped(self):
        t, clock, client, _, _ = self.run_one([status(500)] * 6, retry_initial_delay=1.0, retry_max_delay=4.0,
                                              random=lambda: 1.0)
        self.assertEqual(clock.sleeps, [1.0, 2.0, 4.0, 4.0, 4.0, 4.0])
        self.assertEqual(client.sent, 2)

    def test_retry_after_seconds_on_429_and_503(self):
        t, clock, client, _, _ = self.run_one([status(429, "7"), status(503, "3")])
        self.assertEqual(clock.sleeps, [7.0, 3.0])
        self.assertEqual(len(t.requests), 3)
        self.assertEqual(client.sent, 2)

    def test_retry_after_http_date(self):
        when = email.utils.formatdate(time.time() + 20, usegmt=True)
        t, clock, client, _, _ = self.run_one([status(503, when)])
        self.assertEqual(len(clock.sleeps), 1)
        self.assertTrue(18.0 <= clock.sleeps[0] <= 20.0, clock.sleeps)
        self.assertEqual(client.sent, 2)

    def test_parse_retry_after(self):
        self.assertEqual(parse_retry_after("120"), 120.0)
        self.assertEqual(parse_retry_after(" 0 "), 0.0)
        self.assertIsNone(parse_retry_after("soon"))
        self.assertIsNone(parse_retry_after(None))
        self.assertEqual(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0), 10.0)
        self.assertEqual(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0), 0.0)

    def test_gives_up_after_total_time(self):
        t, clock, client, _, dropped = self.run_one([status(503, "4")] * 10, retry_max_time=10.0)
        # 4 + 4 = 8 s waited; a third wait would end past 10 s
        self.assertEqual(clock.sleeps, [4.0, 4.0])
        self.assertEqual(len(t.requests), 3)
        self.assertEqual((client.sent, client.dropped), (0, 2))
        self.assertEqual(dropped, [(2, "retries_exhausted")])

    def test_retry_after_longer_than_budget_gives_up_at_once(self):
        t, clock, client, _, dropped = self.run_one([status(429, "3600")], retry_max_time=60.0)
        self.assertEqual(clock.sleeps, [])
        self.assertEqual(len(t.requests), 1)
        self.assertEqual(dropped, [(2, "retries_exhausted")])

    def test_other_4xx_not_retried(self):
        t, clock, client, rejected, dropped = self.run_one([status(401, body=b'{"error":"unauthorized"}')])
        self.assertEqual(len(t.requests), 1)
        self.assertEqual(clock.sleeps, [])
        self.assertEqual(dropped, [(2, "http_401")])
        self.assertEqual(client.dropped, 2)

    def test_202_with_errors_reports_those_and_keeps_the_rest(self):
        errors = [{"index": 1, "field": "model", "reason": "required."}]
        t, clock, client, rejected, dropped = self.run_one([accepted(2, errors)])
        self.assertEqual(len(t.requests), 1)
        self.assertEqual([(r.index, r.field, r.reason, r.status) for r in rejected], [(1, "model", "required.", 202)])
        self.assertEqual(rejected[0].event["input_tokens"], 2)
        self.assertEqual((client.sent, client.rejected, client.dropped), (1, 1, 0))

    def test_400_whole_batch_reported_not_retried(self):
        body = json.dumps({"accepted": 0, "rejected": 2, "errors": [
            {"index": 0, "field": "provider", "reason": "required."},
            {"index": 1, "field": "timestamp", "reason": "too_old: older than 30 days."}]}).encode()
        t, clock, client, rejected, dropped = self.run_one([status(400, body=body)])
        self.assertEqual(len(t.requests), 1)
        self.assertEqual([(r.index, r.field, r.reason, r.status) for r in rejected],
                         [(0, "provider", "required.", 400), (1, "timestamp", "too_old: older than 30 days.", 400)])
        self.assertEqual((client.sent, client.rejected, client.dropped), (0, 2, 0))

    def test_400_without_errors_reports_every_event(self):
        t, clock, client, rejected, dropped = self.run_one([status(400, body=b'{"error":"malformed JSON"}')])
        self.assertEqual([(r.index, r.field, r.reason) for r in rejected], [(0, "", "malformed JSON"), (1, "", "malformed JSON")])
        self.assertEqual(client.rejected, 2)


if __name__ == "__main__":
    unittest.main()
