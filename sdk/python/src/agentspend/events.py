"""The usage event the SDK sends (the fields of ``POST /api/v1/ingest``, docs/ingest.md)."""

from __future__ import annotations

import datetime as _dt
import decimal
from dataclasses import dataclass, fields
from typing import Any, Dict, Mapping, Optional, Union

TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
)


@dataclass
class UsageEvent:
    """One call's usage. Every field is optional here; the server requires ``agent_name``,
    ``provider``, ``model`` and ``timestamp`` (the client fills ``agent_name`` from its default and
    ``timestamp`` with the time of ``record``).

    The rule for token kinds (docs/pricing.md): ``input_tokens`` excludes cache reads and writes,
    ``reasoning_tokens`` are part of ``output_tokens``, ``cache_write_1h_tokens`` is the 1-hour share
    of ``cache_write_tokens``.
    """

    provider: Optional[str] = None
    model: Optional[str] = None
    agent_name: Optional[str] = None
    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    cache_read_tokens: Optional[int] = None
    cache_write_tokens: Optional[int] = None
    cache_write_1h_tokens: Optional[int] = None
    reasoning_tokens: Optional[int] = None
    cost_usd: Optional[Union[float, decimal.Decimal]] = None
    duration_ms: Optional[int] = None
    run_id: Optional[str] = None
    session_id: Optional[str] = None
    user_id: Optional[str] = None
    team: Optional[str] = None
    framework: Optional[str] = None
    task_type: Optional[str] = None
    task_success: Optional[bool] = None
    idempotency_key: Optional[str] = None
    tags: Optional[Dict[str, str]] = None
    timestamp: Optional[Union[str, _dt.datetime]] = None

    def to_dict(self) -> Dict[str, Any]:
        """The event as JSON-ready fields, without those that are ``None``."""
        out: Dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = dict(value) if f.name == "tags" else value
        return normalize(out)


EventLike = Union[UsageEvent, Mapping[str, Any]]


def normalize(event: Mapping[str, Any]) -> Dict[str, Any]:
    """A JSON-ready copy: datetimes as ISO 8601 with an offset, Decimals as floats."""
    out: Dict[str, Any] = {}
    for key, value in event.items():
        if value is None:
            continue
        if isinstance(value, _dt.datetime):
            value = iso(value)
        elif isinstance(value, decimal.Decimal):
            value = float(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        out[key] = value
    return out


def to_event_dict(event: Optional[EventLike], extra: Mapping[str, Any]) -> Dict[str, Any]:
    if event is None:
        base: Dict[str, Any] = {}
    elif isinstance(event, UsageEvent):
        base = event.to_dict()
    elif isinstance(event, Mapping):
        base = dict(event)
    else:
        raise TypeError("an event is a UsageEvent or a mapping, not " + type(event).__name__)
    base.update(extra)
    return normalize(base)


def iso(value: _dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.astimezone()  # a naive datetime is taken as local time
    return value.isoformat(timespec="milliseconds")


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
