"""The AgentSpend client: buffered, batched, retried recording, runs, and pre-flight checks."""

from __future__ import annotations

import atexit
import collections
import contextvars
import email.utils
import gzip
import json
import logging
import os
import random
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple

from ._uuid7 import uuid7_str
from ._version import __version__
from .errors import AgentSpendError, Rejection, SpendRefused
from .events import EventLike, now_iso, to_event_dict
from .transport import HttpResponse, Transport, UrllibTransport

logger = logging.getLogger("agentspend")

_current_run: contextvars.ContextVar[Optional["Run"]] = contextvars.ContextVar("agentspend_run", default=None)

# Fields a run stamps on the events recorded inside it (when they do not carry their own).
_RUN_FIELDS = ("run_id", "task_type")


@dataclass
class Reservation:
    id: str
    expires_at: Optional[str] = None
    budget_ids: List[str] = field(default_factory=list)


@dataclass
class CheckResult:
    """The answer of ``POST /api/v1/check``. ``degraded`` is True when the service could not be
    asked and the client failed open (``allowed`` is then True and nothing else is known)."""

    allowed: bool
    remaining: Dict[str, Any] = field(default_factory=dict)
    reservation: Optional[Reservation] = None
    reason: Optional[str] = None
    budget: Optional[Dict[str, Any]] = None
    resume_at: Optional[str] = None
    retry_after: Optional[float] = None
    degraded: bool = False
    raw: Any = None


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    wall = time.time() if now is None else now
    return max(0.0, when.timestamp() - wall)


class _Secret:
    """Holds the API key; shows as *** in any repr, so it never ends up in a log."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__


class _Batch:
    __slots__ = ("events", "parts", "last_seq")

    def __init__(self) -> None:
        self.events: List[Dict[str, Any]] = []
        self.parts: List[bytes] = []
        self.last_seq = 0

    def body(self) -> bytes:
        return b'{"events":[' + b",".join(self.parts) + b"]}"


_WRAPPER_BYTES = len(b'{"events":[]}')


class AgentSpend:
    """A client of one AgentSpend service.

    ``record`` never blocks and never raises: events go into a bounded buffer that a background
    thread sends, gzip-compressed, in batches of at most ``batch_size`` events and
    ``max_batch_bytes`` bytes of JSON, at the latest ``flush_interval`` seconds after the oldest
    was recorded. Failed sends are retried (exponential backoff with full jitter, ``Retry-After``
    honoured) for at most ``retry_max_time`` seconds; the same body and idempotency keys are sent
    each time, so nothing is counted twice.
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        agent_name: Optional[str] = None,
        defaults: Optional[Mapping[str, Any]] = None,
        max_buffer: int = 10_000,
        batch_size: int = 1000,
        max_batch_bytes: int = 1024 * 1024,
        flush_interval: float = 1.0,
        retry_max_time: float = 60.0,
        retry_initial_delay: float = 0.5,
        retry_max_delay: float = 30.0,
        timeout: float = 10.0,
        check_timeout: float = 5.0,
        fail_open: bool = True,
        exit_timeout: float = 5.0,
        flush_at_exit: bool = True,
        on_rejected: Optional[Callable[[List[Rejection]], None]] = None,
        on_dropped: Optional[Callable[[List[Dict[str, Any]], str], None]] = None,
        transport: Optional[Transport] = None,
        clock: Optional[Callable[[], float]] = None,
        sleep: Optional[Callable[[float], None]] = None,
        random: Optional[Callable[[], float]] = None,  # noqa: A002 (the jitter source)
    ) -> None:
        base_url = base_url or os.environ.get("AGENTSPEND_URL")
        api_key = api_key or os.environ.get("AGENTSPEND_KEY")
        if not base_url:
            raise AgentSpendError("no base URL: pass base_url or set AGENTSPEND_URL")
        if not api_key:
            raise AgentSpendError("no API key: pass api_key or set AGENTSPEND_KEY")
        if batch_size < 1 or batch_size > 1000:
            raise ValueError("batch_size must be 1..1000 (the server takes at most 1,000 events)")
        self.base_url = base_url.rstrip("/")
        self.__key = _Secret(api_key)
        self.agent_name = agent_name or os.environ.get("AGENTSPEND_AGENT")
        self.defaults: Dict[str, Any] = dict(defaults or {})
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self.max_batch_bytes = max_batch_bytes
        self.flush_interval = flush_interval
        self.retry_max_time = retry_max_time
        self.retry_initial_delay = retry_initial_delay
        self.retry_max_delay = retry_max_delay
        self.timeout = timeout
        self.check_timeout = check_timeout
        self.fail_open = fail_open
        self.exit_timeout = exit_timeout
        self.on_rejected = on_rejected
        self.on_dropped = on_dropped
        self.transport: Transport = transport or UrllibTransport()
        self._clock = clock or time.monotonic
        self._abort = threading.Event()
        self._sleep = sleep or self._abort.wait
        self._random = random or _random_module.random

        #: Events never sent: buffer full, too large, invalid, retries given up, exit deadline.
        self.dropped = 0
        #: Events the server refused (a 202 with errors, or a 400 for the whole batch).
        self.rejected = 0
        #: Events the server accepted.
        self.sent = 0
        #: Requests retried (each retry counts once).
        self.retries = 0

        self._cond = threading.Condition()
        self._buffer: Deque[Tuple[int, Dict[str, Any], bytes]] = collections.deque()
        self._buffer_bytes = 0
        self._oldest = 0.0
        self._seq = 0  # sequence number of the last event accepted into the buffer
        self._done_seq = 0  # every event up to this one has been sent, refused or dropped
        self._flush_upto = 0
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self._atexit_registered = False
        self._flush_at_exit = flush_at_exit

    # ------------------------------------------------------------------ configuration

    def __repr__(self) -> str:
        return "AgentSpend(base_url={!r}, agent_name={!r}, api_key=***)".format(self.base_url, self.agent_name)

    __str__ = __repr__

    def _headers(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        headers = {
            "Authorization": "Bearer " + self.__key.value,
            "Accept": "application/json",
            "User-Agent": "agentspend-python/" + __version__,
        }
        if extra:
            headers.update(extra)
        return headers

    # ------------------------------------------------------------------ recording

    def record(self, event: Optional[EventLike] = None, **fields: Any) -> bool:
        """Buffer one event (a ``UsageEvent``, a mapping, and/or keyword fields) and return at once.

        Returns False when the event was dropped (buffer full, too large, not JSON, client closed);
        never raises. Adds ``agent_name`` (the client's), ``timestamp`` (now) and a UUIDv7
        ``idempotency_key`` when the event has none, and the current run's ``run_id`` and
        ``task_type``.
        """
        try:
            data = to_event_dict(event, fields)
            for key, value in self.defaults.items():
                data.setdefault(key, value)
            if self.agent_name is not None:
                data.setdefault("agent_name", self.agent_name)
            run = _current_run.get()
            if run is not None and run.client is self:
                for name in _RUN_FIELDS:
                    value = getattr(run, name)
                    if value is not None:
                        data.setdefault(name, value)
                run._saw(data)
            data.setdefault("timestamp", now_iso())
            if not data.get("idempotency_key"):
                data["idempotency_key"] = uuid7_str()
            part = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        except Exception as err:  # noqa: BLE001 - never raise into the agent
            logger.warning("agentspend: event dropped, it cannot be sent as JSON: %s", err)
            self._drop([event if isinstance(event, dict) else {}], "invalid")
            return False
        if len(part) + _WRAPPER_BYTES > self.max_batch_bytes:
            logger.warning("agentspend: event dropped, %d bytes of JSON is above the batch limit", len(part))
            self._drop([data], "too_large")
            return False
        with self._cond:
            if self._closed:
                full = "closed"
            elif len(self._buffer) >= self.max_buffer:
                full = "buffer_full"
            else:
                full = ""
                self._seq += 1
                if not self._buffer:
                    self._oldest = time.monotonic()
                self._buffer.append((self._seq, data, part))
                self._buffer_bytes += len(part) + 1
                if self._thread is None:
                    self._start()
                if len(self._buffer) >= self.batch_size or self._buffer_bytes + _WRAPPER_BYTES >= self.max_batch_bytes:
                    self._cond.notify_all()
        if full:
            self._drop([data], full)
            return False
        return True

    def record_response(self, response: Any, **fields: Any) -> bool:
        """Record the usage of an OpenAI (Chat Completions, Responses) or Anthropic Messages
        response (an SDK object, a dict or its JSON text); ``fields`` add to or override the event."""
        try:
            from .responses import from_response

            event = from_response(response)
        except Exception as err:  # noqa: BLE001
            logger.warning("agentspend: no usage read from the response: %s", err)
            self._drop([], "invalid")
            return False
        return self.record(event, **fields)

    def _drop(self, events: List[Dict[str, Any]], reason: str) -> None:
        with self._cond:
            self.dropped += max(1, len(events)) if reason in ("invalid", "too_large") else len(events)
        if self.on_dropped is not None:
            try:
                self.on_dropped(events, reason)
            except Exception:  # noqa: BLE001
                logger.exception("agentspend: on_dropped callback failed")

    def _start(self) -> None:
        # Called with the lock held, on the first record: no thread for check-only clients.
        self._thread = threading.Thread(target=self._loop, name="agentspend-sender", daemon=True)
        self._thread.start()
        if self._flush_at_exit and not self._atexit_registered:
            atexit.register(self._at_exit)
            self._atexit_registered = True

    # ------------------------------------------------------------------ flushing

    def flush(self, timeout: Optional[float] = 10.0) -> bool:
        """Send everything recorded so far; wait at most ``timeout`` seconds (None: no limit).
        Returns True when every such event was sent, refused or dropped within the time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._seq
            if self._done_seq >= target:
                return True
            self._flush_upto = max(self._flush_upto, target)
            self._cond.notify_all()
            while self._done_seq < target:
                if deadline is None:
                    self._cond.wait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
            return True

    def close(self, timeout: Optional[float] = None) -> bool:
        """Flush and stop the sender, waiting at most ``timeout`` seconds (default ``exit_timeout``).
        What is still unsent at the deadline is dropped (counted in ``dropped``). Returns True when
        everything was sent, refused or dropped by the sender in time."""
        timeout = self.exit_timeout if timeout is None else timeout
        with self._cond:
            if self._atexit_registered:
                atexit.unregister(self._at_exit)
                self._atexit_registered = False
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if not thread.is_alive():
            return True
        # Past the deadline: stop waiting between retries and drop what is left.
        self._abort.set()
        with self._cond:
            left = [data for _, data, _ in self._buffer]
            self._buffer.clear()
            self._buffer_bytes = 0
            self._done_seq = self._seq
            self._cond.notify_all()
        if left:
            logger.warning("agentspend: %d events dropped, unsent at the exit deadline", len(left))
            self._drop(left, "deadline")
        thread.join(0.5)
        return False

    def _at_exit(self) -> None:
        try:
            self.close(self.exit_timeout)
        except Exception:  # noqa: BLE001
            pass

    def __enter__(self) -> "AgentSpend":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _take_batch(self) -> _Batch:
        # Called with the lock held.
        batch = _Batch()
        size = _WRAPPER_BYTES
        while self._buffer and len(batch.events) < self.batch_size:
            seq, data, part = self._buffer[0]
            extra = len(part) + (1 if batch.parts else 0)
            if batch.parts and size + extra > self.max_batch_bytes:
                break
            self._buffer.popleft()
            self._buffer_bytes -= len(part) + 1
            size += extra
            batch.events.append(data)
            batch.parts.append(part)
            batch.last_seq = seq
        if self._buffer:
            self._oldest = time.monotonic()
        return batch

    def _ready(self) -> bool:
        if not self._buffer:
            return False
        if self._closed or self._flush_upto > self._done_seq:
            return True
        if len(self._buffer) >= self.batch_size or self._buffer_bytes + _WRAPPER_BYTES >= self.max_batch_bytes:
            return True
        return time.monotonic() - self._oldest >= self.flush_interval

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._ready():
                    if self._closed and not self._buffer:
                        self._cond.notify_all()
                        return
                    wait = None
                    if self._buffer:
                        wait = max(0.0, self.flush_interval - (time.monotonic() - self._oldest))
                    self._cond.wait(wait)
                batch = self._take_batch()
            try:
                self._send_batch(batch)
            except Exception:  # noqa: BLE001 - the sender must survive anything
                logger.exception("agentspend: sending a batch failed")
                self._drop(batch.events, "error")
            with self._cond:
                self._done_seq = max(self._done_seq, batch.last_seq)
                self._cond.notify_all()

    # ------------------------------------------------------------------ sending

    def _backoff(self, attempt: int) -> float:
        cap = min(self.retry_max_delay, self.retry_initial_delay * (2 ** attempt))
        return self._random() * cap

    def _send_batch(self, batch: _Batch) -> None:
        body = gzip.compress(batch.body(), compresslevel=6, mtime=0)
        headers = self._headers({"Content-Type": "application/json", "Content-Encoding": "gzip"})
        url = self.base_url + "/api/v1/ingest"
        deadline = self._clock() + self.retry_max_time
        attempt = 0
        while True:
            reason = ""
            delay: Optional[float] = None
            try:
                resp = self.transport.request("POST", url, headers, body, self.timeout)
            except OSError as err:
                reason = "connection: " + (str(err) or type(err).__name__)
            else:
                status = resp.status
                if 200 <= status < 300:
                    self._accepted(batch, resp)
                    return
                if status == 400:
                    self._refused(batch, resp)
                    return
                if status in (429, 503) or status >= 500:
                    reason = "HTTP {}".format(status)
                    if status in (429, 503):
                        delay = parse_retry_after(resp.header("Retry-After"))
                else:
                    logger.warning("agentspend: %d events dropped, the server answered %d: %s",
                                   len(batch.events), status, _snippet(resp.body))
                    self._drop(batch.events, "http_{}".format(status))
                    return
            if delay is None:
                delay = self._backoff(attempt)
            attempt += 1
            if self._abort.is_set() or self._clock() + delay > deadline:
                logger.warning("agentspend: %d events dropped after %d attempts (%s)", len(batch.events), attempt, reason)
                self._drop(batch.events, "retries_exhausted")
                return
            with self._cond:
                self.retries += 1
            logger.debug("agentspend: %s, retrying in %.2fs", reason, delay)
            self._sleep(delay)
            if self._abort.is_set():
                self._drop(batch.events, "deadline")
                return

    def _accepted(self, batch: _Batch, resp: HttpResponse) -> None:
        data = _json(resp.body)
        errors = data.get("errors") if isinstance(data, dict) else None
        rejections = self._rejections(batch, errors or [], resp.status)
        with self._cond:
            self.rejected += len(rejections)
            self.sent += len(batch.events) - len(rejections)
        if rejections:
            self._report(rejections)

    def _refused(self, batch: _Batch, resp: HttpResponse) -> None:
        data = _json(resp.body)
        errors = data.get("errors") if isinstance(data, dict) else None
        rejections = self._rejections(batch, errors or [], resp.status)
        listed = {r.index for r in rejections}
        reason = ""
        if isinstance(data, dict):
            reason = str(data.get("reason") or data.get("error") or data.get("title") or "")
        for i, event in enumerate(batch.events):
            if i not in listed:  # a whole-batch refusal (malformed JSON …) lists no index
                rejections.append(Rejection(event=event, field="", reason=reason or "refused", index=i, status=resp.status))
        rejections.sort(key=lambda r: r.index)
        with self._cond:
            self.rejected += len(rejections)
        self._report(rejections)

    @staticmethod
    def _rejections(batch: _Batch, errors: Any, status: int) -> List[Rejection]:
        out: List[Rejection] = []
        seen = set()
        for err in errors if isinstance(errors, list) else []:
            if not isinstance(err, dict):
                continue
            index = err.get("index")
            if not isinstance(index, int) or not 0 <= index < len(batch.events):
                continue
            if index in seen:  # several errors of one event: one rejection, reasons joined
                prev = next(r for r in out if r.index == index)
                out[out.index(prev)] = Rejection(prev.event, prev.field, prev.reason + "; " + str(err.get("field", "")) + ": " + str(err.get("reason", "")), index, status)
                continue
            seen.add(index)
            out.append(Rejection(event=batch.events[index], field=str(err.get("field", "")),
                                 reason=str(err.get("reason", "")), index=index, status=status))
        return out

    def _report(self, rejections: List[Rejection]) -> None:
        if self.on_rejected is not None:
            try:
                self.on_rejected(rejections)
            except Exception:  # noqa: BLE001
                logger.exception("agentspend: on_rejected callback failed")
            return
        first = rejections[0]
        logger.warning("agentspend: the server refused %d events; first: field %r, %s",
                       len(rejections), first.field, first.reason)

    # ------------------------------------------------------------------ runs

    def run(self, task_type: Optional[str] = None, *, agent_name: Optional[str] = None,
            provider: Optional[str] = None, model: Optional[str] = None,
            run_id: Optional[str] = None) -> "Run":
        """A scope (``with`` or ``async with``) that stamps a new ``run_id`` (a UUIDv7) and
        ``task_type`` on the events recorded inside it, and on exit records one run summary
        event with ``duration_ms`` and ``task_success``. See ``Run``."""
        return Run(self, task_type, agent_name=agent_name, provider=provider, model=model, run_id=run_id)

    # ------------------------------------------------------------------ checks

    def check(
        self,
        *,
        agent_name: Optional[str] = None,
        model: Optional[str] = None,
        estimated_cost_usd: Optional[float] = None,
        estimated_tokens: Optional[int] = None,
        user_id: Optional[str] = None,
        team: Optional[str] = None,
        tool: Optional[str] = None,
        run_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        reserve: bool = False,
        reservation_ttl_seconds: Optional[int] = None,
        raise_on_refusal: bool = True,
    ) -> CheckResult:
        """Ask before spending (``POST /api/v1/check``). Raises ``SpendRefused`` on a refusal
        (unless ``raise_on_refusal`` is False). When the service cannot be reached (connection
        error, timeout, 5xx): returns an allowed, ``degraded`` result if ``fail_open``, else
        raises ``SpendRefused`` with reason ``unreachable``."""
        run = _current_run.get()
        body: Dict[str, Any] = {
            "agent_name": agent_name or self.agent_name or self.defaults.get("agent_name"),
            "user_id": user_id if user_id is not None else self.defaults.get("user_id"),
            "team": team if team is not None else self.defaults.get("team"),
            "model": model,
            "tool": tool,
            "estimated_cost_usd": estimated_cost_usd,
            "estimated_tokens": estimated_tokens,
            "run_id": run_id or (run.run_id if run is not None and run.client is self else None),
            "idempotency_key": idempotency_key,
            "reservation_ttl_seconds": reservation_ttl_seconds,
        }
        body = {k: v for k, v in body.items() if v is not None}
        if reserve:
            body["reserve"] = True
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        try:
            resp = self.transport.request("POST", self.base_url + "/api/v1/check",
                                          self._headers({"Content-Type": "application/json"}), data, self.check_timeout)
        except OSError as err:
            return self._unreachable("connection: " + (str(err) or type(err).__name__))
        payload = _json(resp.body)
        if resp.status == 200 and isinstance(payload, dict):
            res = payload.get("reservation")
            reservation = None
            if isinstance(res, dict) and res.get("id"):
                reservation = Reservation(str(res["id"]), res.get("expires_at"), list(res.get("budget_ids") or []))
            return CheckResult(allowed=bool(payload.get("allowed", True)), remaining=dict(payload.get("remaining") or {}),
                               reservation=reservation, raw=payload)
        if resp.status == 429 and isinstance(payload, dict) and payload.get("allowed") is False:
            result = CheckResult(
                allowed=False, reason=str(payload.get("reason") or ""), budget=payload.get("budget"),
                resume_at=payload.get("resume_at"), retry_after=parse_retry_after(resp.header("Retry-After")), raw=payload)
            if raise_on_refusal:
                raise SpendRefused(result.reason or "refused", result.budget, result.resume_at, result.retry_after,
                                   status=429, body=payload)
            return result
        if resp.status >= 500 or resp.status == 429:
            return self._unreachable("HTTP {}".format(resp.status))
        raise AgentSpendError("check answered {}: {}".format(resp.status, _snippet(resp.body)), resp.status, payload)

    def reserve(self, estimated_cost_usd: Optional[float] = None, **kwargs: Any) -> CheckResult:
        """``check(..., reserve=True)``: an allowed answer holds the estimate; release it with
        ``release(result.reservation.id)`` if the call does not happen (it is released by itself
        once an event with the same ``run_id`` or ``idempotency_key`` is counted, or at its TTL)."""
        kwargs["reserve"] = True
        return self.check(estimated_cost_usd=estimated_cost_usd, **kwargs)

    def release(self, reservation: Any) -> bool:
        """Release a reservation (its id, a ``Reservation`` or a ``CheckResult``). True when it was
        released, False when it was not open (404) or the service could not be reached (it then
        expires at its TTL). Raises ``AgentSpendError`` on other refusals (401, 403)."""
        if isinstance(reservation, CheckResult):
            reservation = reservation.reservation
        if isinstance(reservation, Reservation):
            reservation = reservation.id
        if not reservation:
            return False
        url = self.base_url + "/api/v1/check/reservations/" + urllib.parse.quote(str(reservation), safe="")
        try:
            resp = self.transport.request("DELETE", url, self._headers(), None, self.check_timeout)
        except OSError as err:
            logger.warning("agentspend: reservation not released (%s); it expires at its TTL", err)
            return False
        if resp.status in (200, 204):
            return True
        if resp.status == 404:
            return False
        if resp.status >= 500 or resp.status == 429:
            logger.warning("agentspend: reservation not released (HTTP %d); it expires at its TTL", resp.status)
            return False
        raise AgentSpendError("release answered {}: {}".format(resp.status, _snippet(resp.body)), resp.status, _json(resp.body))

    def _unreachable(self, why: str) -> CheckResult:
        if self.fail_open:
            logger.warning("agentspend: check not answered (%s); allowed (fail_open)", why)
            return CheckResult(allowed=True, degraded=True, reason="unreachable")
        raise SpendRefused("unreachable", status=None, body=why)


class Run:
    """A run scope. Inside it, events recorded through its client get its ``run_id`` and
    ``task_type`` (unless they carry their own). On exit it records one summary event: the run's
    ``duration_ms`` (wall time of the scope), ``task_success`` (False when an exception escaped,
    unless ``succeed()``/``fail()`` said otherwise) and no tokens; ``agent_name``, ``provider`` and
    ``model`` are those given to ``client.run`` or else those of the last event recorded in the run.
    A run in which no event was recorded and no provider/model was given records no summary (the
    server needs a provider and a model)."""

    def __init__(self, client: AgentSpend, task_type: Optional[str], *, agent_name: Optional[str] = None,
                 provider: Optional[str] = None, model: Optional[str] = None, run_id: Optional[str] = None) -> None:
        self.client = client
        self.task_type = task_type
        self.run_id = run_id or uuid7_str()
        self.agent_name = agent_name
        self.provider = provider
        self.model = model
        self.success: Optional[bool] = None
        self.duration_ms: Optional[int] = None
        self.events = 0
        self._start = 0.0
        self._token: Optional[contextvars.Token] = None
        self._last: Dict[str, Any] = {}

    def succeed(self) -> None:
        self.success = True

    def fail(self) -> None:
        self.success = False

    def _saw(self, event: Mapping[str, Any]) -> None:
        if event.get("run_id") == self.run_id:
            self.events += 1
            for key in ("agent_name", "provider", "model"):
                if event.get(key):
                    self._last[key] = event[key]

    def __enter__(self) -> "Run":
        self._start = self.client._clock()
        self._token = _current_run.set(self)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._token is not None:
            try:
                _current_run.reset(self._token)
            except ValueError:  # exited in another context: leave the variable as it is there
                pass
            self._token = None
        self.duration_ms = max(0, int(round((self.client._clock() - self._start) * 1000)))
        success = self.success if self.success is not None else exc_type is None
        summary = {
            "agent_name": self.agent_name or self._last.get("agent_name"),
            "provider": self.provider or self._last.get("provider"),
            "model": self.model or self._last.get("model"),
            "run_id": self.run_id,
            "task_type": self.task_type,
            "duration_ms": self.duration_ms,
            "task_success": success,
        }
        if not summary["provider"] or not summary["model"]:
            logger.debug("agentspend: run %s had no event and no provider/model: no summary", self.run_id)
            return
        self.client.record({k: v for k, v in summary.items() if v is not None})

    async def __aenter__(self) -> "Run":
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)


def current_run() -> Optional[Run]:
    """The run scope the calling code is in, if any."""
    return _current_run.get()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8")) if body else None
    except (ValueError, UnicodeDecodeError):
        return None


def _snippet(body: bytes) -> str:
    return body[:300].decode("utf-8", "replace")


_random_module = random
