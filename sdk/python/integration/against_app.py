#!/usr/bin/env python3
"""The Python SDK against the running AgentSpend app: record, retry after a real 429, kill switch, reservations.

Run by scripts/test-sdks.sh as ``PYTHONPATH=sdk/python/src python3 sdk/python/integration/against_app.py`` with
AGENTSPEND_URL, AGENTSPEND_KEY (ingest scope, a fresh workspace in UTC), AGENTSPEND_ADMIN_KEY (that workspace's
admin), AGENTSPEND_THROTTLED_URL (a second instance on the same storage: 1 request a second per key, burst 1,
counts nothing itself) and AGENTSPEND_TEST_PREFIX. Prints ``PASS <check>`` or ``FAIL <check>: <why>`` per check
(other lines are notes) and exits 1 when any failed.

Every expected figure is derived from what this program asked the SDK to send, plus the SDK's documented design
(sdk/python/README.md, "Runs"): a run adds one summary event with the run's duration and outcome, the agent,
provider and model of its last event, no tokens and no ``cost_usd`` (so the server prices it: zero tokens cost
$0, and it counts as one ``server_priced_events``). Money is compared as decimals, never as floats.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Tuple

from agentspend import AgentSpend, HttpResponse, SpendRefused, UrllibTransport

URL = os.environ["AGENTSPEND_URL"].rstrip("/")
KEY = os.environ["AGENTSPEND_KEY"]
ADMIN_KEY = os.environ["AGENTSPEND_ADMIN_KEY"]
THROTTLED_URL = os.environ["AGENTSPEND_THROTTLED_URL"].rstrip("/")
PREFIX = os.environ.get("AGENTSPEND_TEST_PREFIX", "py")

PROVIDER = "anthropic"
MODEL = "claude-sonnet-4-5"
COST = Decimal("0.0125")  # per event, sent as the decimal it is
POLL_INTERVAL = 0.2  # seconds between reads of a figure that is still being counted
POLL_LIMIT = 60.0  # seconds a figure may take to be counted
SETTLE = 1.5  # seconds to wait after the count is reached, to see that nothing more arrives (no double counting)

failures = 0


# ---------------------------------------------------------------------------------------------- helpers


class CheckFailed(Exception):
    pass


def expect(condition: bool, why: str) -> None:
    if not condition:
        raise CheckFailed(why)


def expect_equal(name: str, actual: Any, expected: Any) -> None:
    if actual != expected:
        raise CheckFailed("{}: expected {!r}, got {!r}".format(name, expected, actual))


def note(text: str) -> None:
    print("  note: " + text, flush=True)


def run_check(name: str, fn: Callable[[], None]) -> None:
    global failures
    try:
        fn()
    except CheckFailed as failed:
        failures += 1
        print("FAIL {}: {}".format(name, failed), flush=True)
    except Exception as err:  # noqa: BLE001 - an unexpected error is a failed check, with its trace
        failures += 1
        print("FAIL {}: {}: {}".format(name, type(err).__name__, err), flush=True)
        traceback.print_exc(file=sys.stdout)
    else:
        print("PASS " + name, flush=True)


def api(method: str, path: str, body: Any = None, key: str = ADMIN_KEY, base: str = URL) -> Tuple[int, Dict[str, str], Any]:
    """Plain HTTP to the app (not through the SDK). JSON numbers with a fraction are parsed as Decimal."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": "Bearer " + key, "Accept": "application/json", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, headers, raw = resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        status, headers, raw = err.code, dict(err.headers.items()) if err.headers else {}, err.read()
    parsed = json.loads(raw.decode("utf-8"), parse_float=Decimal) if raw else None
    return status, headers, parsed


def get_ok(path: str) -> Any:
    status, _, body = api("GET", path)
    expect(status == 200, "GET {} answered {}: {}".format(path, status, body))
    return body


def exact(value: Any) -> Decimal:
    """A number as the API wrote it: Decimal from our own parsing, or the shortest repr of an SDK-parsed float
    (which is the text the server wrote, when the server writes shortest decimals)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckFailed("not a number: {!r}".format(value))
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def overview_when_counted(query: str, expected_events: int) -> Dict[str, Any]:
    """Polls the overview until it counts ``expected_events`` events (or more), then reads it once more after
    SETTLE seconds, so that an event counted twice a little later still shows."""
    path = "/api/v1/metrics/overview?range=today" + query
    deadline = time.monotonic() + POLL_LIMIT
    overview = get_ok(path)
    while overview["events"] < expected_events and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
        overview = get_ok(path)
    expect(overview["events"] >= expected_events,
           "{}: {} events counted after {:.0f} s, expected {}".format(path, overview["events"], POLL_LIMIT, expected_events))
    time.sleep(SETTLE)
    return get_ok(path)


def expect_totals(overview: Dict[str, Any], expected: Dict[str, Any]) -> None:
    for name, value in expected.items():
        actual = exact(overview[name]) if isinstance(value, Decimal) else overview[name]
        expect_equal("overview " + name, actual, value)


def totals_of(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The overview's figures for events as this program asked the SDK to send them."""
    return {
        "events": len(events),
        "input_tokens": sum(e.get("input_tokens", 0) for e in events),
        "output_tokens": sum(e.get("output_tokens", 0) for e in events),
        "cost_usd": sum((e.get("cost_usd", Decimal(0)) for e in events), Decimal(0)),
    }


class RecordingTransport(UrllibTransport):
    """The SDK's own transport, keeping every request's method, path, body and answer, so a check can see what
    went over the wire (the 429, the resent body)."""

    def __init__(self) -> None:
        self.calls: List[Tuple[str, str, Optional[bytes], HttpResponse]] = []
        self._lock = threading.Lock()

    def request(self, method, url, headers, body, timeout):  # type: ignore[override]
        resp = super().request(method, url, headers, body, timeout)
        with self._lock:
            self.calls.append((method, urllib.parse.urlsplit(url).path, body, resp))
        return resp


def collect_rejections(store: List[Any]) -> Callable[[List[Any]], None]:
    return lambda rejections: store.extend(rejections)


def collect_drops(store: List[Any]) -> Callable[[List[Dict[str, Any]], str], None]:
    return lambda events, reason: store.append((len(events), reason))


def expect_delivered(client: AgentSpend, sent: int, rejected: List[Any], dropped: List[Any]) -> None:
    expect(not rejected, "the server refused events: " + "; ".join(
        "#{} {}: {}".format(r.index, r.field, r.reason) for r in rejected[:5]))
    expect(not dropped, "the client dropped events: {}".format(dropped))
    expect_equal("client.dropped", client.dropped, 0)
    expect_equal("client.rejected", client.rejected, 0)
    expect_equal("client.sent", client.sent, sent)


def event(agent: str, input_tokens: int, output_tokens: int, **extra: Any) -> Dict[str, Any]:
    e: Dict[str, Any] = {"agent_name": agent, "provider": PROVIDER, "model": MODEL,
                         "input_tokens": input_tokens, "output_tokens": output_tokens, "cost_usd": COST}
    e.update(extra)
    return e


# ---------------------------------------------------------------------------------------------- checks


def record_and_read_back() -> None:
    rejected: List[Any] = []
    dropped: List[Any] = []
    client = AgentSpend(URL, KEY, on_rejected=collect_rejections(rejected), on_dropped=collect_drops(dropped))
    try:
        # 120 events over three agents; the SDK adds timestamp (now) and a UUIDv7 idempotency key to each.
        plain = [event("{}-worker-{}".format(PREFIX, i % 3), 100 + i, 20) for i in range(120)]
        for e in plain:
            expect(client.record(e), "record() refused an event")

        # A run: three events inside it, then (on exit) the SDK's one summary event.
        run_agent = PREFIX + "-runner"
        in_run = [event(run_agent, 1000, 20, idempotency_key="{}-run-{}".format(PREFIX, j)) for j in range(3)]
        pause = 0.05  # the run lasts at least this long, so that its duration is a figure worth comparing
        with client.run(PREFIX + "-run") as run:
            for e in in_run:
                expect(client.record(e), "record() refused an event inside the run")
            time.sleep(pause)
        expect_equal("run.events (events recorded inside the run)", run.events, len(in_run))
        expect(run.duration_ms is not None and run.duration_ms >= pause * 1000, "the run's duration {} ms is below the {} s pause".format(run.duration_ms, pause))
        # The summary as the SDK designs it (README "Runs"): agent, provider and model of the run's last event,
        # run_id, task_type, duration_ms, task_success (True: no exception escaped), no tokens, no cost_usd.
        summary = {"agent_name": in_run[-1]["agent_name"], "provider": in_run[-1]["provider"], "model": in_run[-1]["model"],
                   "duration_ms": run.duration_ms, "task_success": True}

        expect(client.flush(timeout=30), "flush() did not finish within 30 s")
        everything = plain + in_run + [summary]
        expect_delivered(client, len(everything), rejected, dropped)

        expected = totals_of(everything)
        expected.update({
            "successes": 1,  # the summary's task_success
            "failures": 0,
            "duration_ms": run.duration_ms,  # only the summary carries a duration
            "server_priced_events": 1,  # only the summary came without cost_usd
            "unpriced_events": 0,
        })
        overview = overview_when_counted("", expected["events"])
        expect_totals(overview, expected)
        note("overview today: {events} events, {input_tokens} input and {output_tokens} output tokens, ${cost_usd}, "
             "{successes} success, duration {duration_ms} ms, {server_priced_events} server-priced".format(
                 **dict(expected, cost_usd=expected["cost_usd"].normalize())))

        # The run's stored events: its three, and the summary as the SDK designs it (the one with an outcome).
        stored = get_ok("/api/v1/runs/{}/events?limit=500".format(urllib.parse.quote(run.run_id)))["items"]
        expect_equal("stored events of the run", len(stored), len(in_run) + 1)
        outcomes = [e for e in stored if e.get("task_success") is not None]
        expect_equal("stored events with an outcome", len(outcomes), 1)
        s = outcomes[0]
        expect_equal("stored summary", {
            "agent": s["agent"], "provider": s["provider"], "model": s["model"], "run_id": s["run_id"],
            "task_type": s["task_type"], "task_success": s["task_success"], "duration_ms": s["duration_ms"],
            "input_tokens": s["input_tokens"], "output_tokens": s["output_tokens"], "cost_usd": exact(s["cost_usd"]),
            "server_priced": s["server_priced"]}, {
            "agent": summary["agent_name"], "provider": summary["provider"], "model": summary["model"], "run_id": run.run_id,
            "task_type": PREFIX + "-run", "task_success": True, "duration_ms": run.duration_ms,
            "input_tokens": 0, "output_tokens": 0, "cost_usd": Decimal(0), "server_priced": True})

        # The run, as the runs list shows it: its three events and its summary.
        run_expected = totals_of(in_run + [summary])
        path = "/api/v1/runs?range=today"
        deadline = time.monotonic() + POLL_LIMIT
        found: Optional[Dict[str, Any]] = None
        while True:
            found = next((r for r in get_ok(path)["items"] if r["id"] == run.run_id), None)
            if (found is not None and found["events"] >= run_expected["events"]) or time.monotonic() > deadline:
                break
            time.sleep(POLL_INTERVAL)
        expect(found is not None, "run {} not in {} after {:.0f} s".format(run.run_id, path, POLL_LIMIT))
        assert found is not None
        for name, value in run_expected.items():
            actual = exact(found[name]) if isinstance(value, Decimal) else found[name]
            expect_equal("run " + name, actual, value)
        expect_equal("run agent", found["agent"], run_agent)
        expect_equal("run successes", found["successes"], 1)
        expect_equal("run duration_ms", found["duration_ms"], run.duration_ms)
    finally:
        client.close(5)


def retry_after_429_lands_once() -> None:
    rejected: List[Any] = []
    dropped: List[Any] = []
    transport = RecordingTransport()
    # Retry-After is 1 s: retry_max_time leaves room for many such waits (at least 2 s as asked).
    client = AgentSpend(THROTTLED_URL, KEY, flush_interval=0.05, retry_max_time=30.0, retry_initial_delay=0.5,
                        retry_max_delay=5.0, on_rejected=collect_rejections(rejected), on_dropped=collect_drops(dropped),
                        transport=transport)
    agent = PREFIX + "-throttled"
    sent: List[Dict[str, Any]] = []
    pairs = 0
    try:
        # The first POST of a pair takes the key's only token on the throttled instance; the second, sent as
        # soon as the first is answered, meets the empty bucket unless the once-a-second refill fell between.
        while pairs < 3:
            pairs += 1
            for _half in range(2):
                for _ in range(10):
                    n = len(sent)
                    e = event(agent, 10 + n, 5, idempotency_key="{}-throttled-{}".format(PREFIX, n))
                    expect(client.record(e), "record() refused an event")
                    sent.append(e)
                expect(client.flush(timeout=30), "flush() did not finish within 30 s")
            if client.retries >= 1:
                break
            note("pair {}: no 429 met (the bucket refilled between the two POSTs); another pair".format(pairs))
        expect(client.retries >= 1, "client.retries is 0 after {} pairs: no 429 was met".format(pairs))
        expect_delivered(client, len(sent), rejected, dropped)

        ingest = [(body, resp) for method, path, body, resp in transport.calls if method == "POST" and path == "/api/v1/ingest"]
        limited = [i for i, (_, resp) in enumerate(ingest) if resp.status == 429]
        expect(limited, "no 429 among the ingest answers {}".format([r.status for _, r in ingest]))
        first = ingest[limited[0]][1]
        expect_equal("429 Retry-After", first.header("Retry-After"), "1")
        problem = json.loads(first.body.decode("utf-8"))
        expect_equal("429 reason", problem.get("reason"), "rate_limited")
        for i in limited:  # each refused body was sent again, byte for byte (same idempotency keys)
            expect(i + 1 < len(ingest) and ingest[i + 1][0] == ingest[i][0], "the request after a 429 did not resend the same body")
        accepted = [resp for _, resp in ingest if resp.status == 202]
        expect_equal("ingest requests answered 202", len(accepted), 2 * pairs)
        expect_equal("client.retries (= 429 answers met)", client.retries, len(limited))
        note("{} pair(s), {} ingest POSTs, {} answered 429 and resent".format(pairs, len(ingest), len(limited)))

        overview = overview_when_counted("&agent=" + urllib.parse.quote(agent), len(sent))
        expect_totals(overview, totals_of(sent))
        note("overview agent={}: {events} events, {input_tokens} input and {output_tokens} output tokens, ${cost_usd}".format(
            agent, **dict(totals_of(sent), cost_usd=totals_of(sent)["cost_usd"].normalize())))
    finally:
        client.close(5)


def check_raises_killed() -> None:
    agent = PREFIX + "-killable"
    estimate = 0.01
    rejected: List[Any] = []
    dropped: List[Any] = []
    # fail_open=False: an unreachable service must not pass for "allowed".
    client = AgentSpend(URL, KEY, fail_open=False, on_rejected=collect_rejections(rejected), on_dropped=collect_drops(dropped))
    # Only an agent that has sent usage to the workspace can be killed (404 otherwise): one event first.
    expect(client.record(event(agent, 1, 1, idempotency_key=PREFIX + "-killable-0")), "record() refused an event")
    expect(client.flush(timeout=30), "flush() did not finish within 30 s")
    expect_delivered(client, 1, rejected, dropped)
    status, _, body = api("POST", "/api/v1/agents/{}/kill".format(agent), {"reason": "sdk test"})
    expect(200 <= status < 300, "kill answered {}: {}".format(status, body))
    try:
        client.check(agent_name=agent, estimated_cost_usd=estimate)
    except SpendRefused as refused:
        expect_equal("refusal reason", refused.reason, "killed")
        expect_equal("refusal status", refused.status, 429)
    else:
        raise CheckFailed("check() of a killed agent did not raise SpendRefused")

    status, _, body = api("POST", "/api/v1/agents/{}/resume".format(agent))
    expect_equal("resume status", status, 204)
    result = client.check(agent_name=agent, estimated_cost_usd=estimate)
    expect(result.allowed and not result.degraded, "check after resume: allowed={} degraded={}".format(result.allowed, result.degraded))
    client.close(5)


def reserve_and_release_within_budget() -> None:
    agent = PREFIX + "-budgeted"
    limit = Decimal("1.0")
    estimate = Decimal("0.6")
    status, _, budget = api("POST", "/api/v1/budgets", {
        "name": PREFIX + " block", "scope": "agent", "scope_value": agent, "metric": "cost_usd", "period": "daily",
        "limit": float(limit), "thresholds": [100], "action": "block"})
    expect_equal("budget creation status", status, 201)
    budget_id = budget["id"]
    transport = RecordingTransport()
    client = AgentSpend(URL, KEY, fail_open=False, transport=transport)

    first = client.reserve(float(estimate), agent_name=agent)
    expect(first.allowed and not first.degraded, "first reserve not allowed: {}".format(first.raw))
    expect(first.reservation is not None and bool(first.reservation.id), "first reserve holds nothing: {}".format(first.raw))
    assert first.reservation is not None
    expect(budget_id in first.reservation.budget_ids, "reservation budget_ids {} lack {}".format(first.reservation.budget_ids, budget_id))
    expect_equal("remaining after the first reserve", exact(first.remaining.get(budget_id)), limit - estimate)

    try:
        client.reserve(float(estimate), agent_name=agent)
    except SpendRefused as refused:
        expect_equal("second reserve: reason", refused.reason, "budget_exceeded")
        b = refused.budget or {}
        expect_equal("refusal budget id", b.get("id"), budget_id)
        expect_equal("refusal budget limit", exact(b.get("limit")), limit)
        expect_equal("refusal budget used (the first hold)", exact(b.get("used")), estimate)
        expect_equal("refusal budget remaining", exact(b.get("remaining")), limit - estimate)
    else:
        raise CheckFailed("a second reserve of {} against {} with {} held was allowed".format(estimate, limit, estimate))

    expect(client.release(first) is True, "releasing the first reservation did not answer True")

    # A released hold keeps counting for checks whose usage was measured before the release plus 2 s of clock
    # margin (docs/governance.md, "Reservations"; budgets are re-read once a second): retry for a while.
    deadline = time.monotonic() + 15.0
    attempts = 0
    while True:
        attempts += 1
        try:
            again = client.reserve(float(estimate), agent_name=agent)
            break
        except SpendRefused as refused:
            expect_equal("reserve after release: refusal reason", refused.reason, "budget_exceeded")
            expect(time.monotonic() < deadline, "reserve still refused 15 s after the release ({} tries)".format(attempts))
            time.sleep(0.25)
    note("the reserve after the release was allowed at try {}".format(attempts))
    expect(again.allowed and again.reservation is not None, "reserve after release holds nothing: {}".format(again.raw))
    assert again.reservation is not None
    expect_equal("remaining after reserving again", exact(again.remaining.get(budget_id)), limit - estimate)
    expect(client.release(again.reservation) is True, "releasing the second reservation did not answer True")
    expect(client.release(again.reservation.id) is False, "releasing it again did not answer False")
    deletes = [resp.status for method, _, _, resp in transport.calls if method == "DELETE"]
    expect_equal("DELETE statuses (first, second, second again)", deletes, [204, 204, 404])


def main() -> int:
    print("agentspend Python SDK against {} (throttled: {}), prefix {}".format(URL, THROTTLED_URL, PREFIX), flush=True)
    run_check("record-and-read-back", record_and_read_back)
    run_check("retry-after-429-lands-once", retry_after_429_lands_once)
    run_check("check-raises-killed", check_raises_killed)
    run_check("reserve-and-release-within-budget", reserve_and_release_within_budget)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
