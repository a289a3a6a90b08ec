"""Shared test helpers: puts src/ on the path, a scripted transport and a fake clock."""

from __future__ import annotations

import gzip
import logging
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "fixtures")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from agentspend import AgentSpend, HttpResponse  # noqa: E402

logging.getLogger("agentspend").setLevel(logging.CRITICAL)


def accepted(n: int, errors=None) -> HttpResponse:
    errors = errors or []
    body = {"accepted": n - len(errors), "rejected": len(errors), "errors": errors, "rejected_agents": []}
    return HttpResponse(202, {"Content-Type": "application/json"}, json.dumps(body).encode())


class FakeTransport:
    """Answers from a script (HttpResponse or exception instances), then 202 accepting everything."""

    def __init__(self, script=None):
        self.script = list(script or [])
        self.requests = []
        self.lock = threading.Lock()

    def request(self, method, url, headers, body, timeout):
        with self.lock:
            self.requests.append({"method": method, "url": url, "headers": dict(headers), "body": body, "timeout": timeout})
            item = self.script.pop(0) if self.script else None
        if isinstance(item, BaseException):
            raise item
        if item is None:
            if url.endswith("/ingest"):
                return accepted(len(decode(body)["events"]))
            return HttpResponse(200, {}, b'{"allowed":true,"remaining":{}}')
        return item

    def batches(self):
        return [decode(r["body"])["events"] for r in self.requests if r["url"].endswith("/ingest")]


def decode(body: bytes):
    return json.loads(gzip.decompress(body).decode("utf-8"))


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(transport=None, clock=None, **kwargs) -> AgentSpend:
    clock = clock or FakeClock()
    kwargs.setdefault("flush_interval", 60.0)
    kwargs.setdefault("flush_at_exit", False)
    kwargs.setdefault("random", lambda: 0.5)
    return AgentSpend("http://agentspend.test/", "secret-key-123", agent_name="bot",
                      transport=transport or FakeTransport(), clock=clock.clock, sleep=clock.sleep, **kwargs)


def wait_for(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
