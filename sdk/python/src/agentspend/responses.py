"""Usage events from the responses teams already have: OpenAI Chat Completions, OpenAI Responses
and Anthropic Messages, as SDK objects (attributes), dicts, or JSON text.

Token kinds follow the rule of docs/pricing.md: ``input_tokens`` excludes cache reads and writes
(OpenAI counts its cached tokens inside the input, so they are subtracted), ``reasoning_tokens`` are
part of ``output_tokens``, ``cache_write_1h_tokens`` is the 1-hour share of ``cache_write_tokens``.
A token field whose source is absent from the response is left out. The response ``id`` becomes the
``idempotency_key``. Nothing of the prompt or the output is read.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from .events import UsageEvent

__all__ = ["from_openai_chat", "from_openai_responses", "from_anthropic", "from_response"]


def _load(resp: Any) -> Any:
    if isinstance(resp, (bytes, bytearray)):
        resp = resp.decode("utf-8")
    if isinstance(resp, str):
        resp = json.loads(resp)
    return resp


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(value: Any) -> Optional[int]:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _id(resp: Any) -> Optional[str]:
    value = _get(resp, "id")
    return str(value) if value else None


def _apply(event: UsageEvent, **fields: Any) -> UsageEvent:
    for key, value in fields.items():
        if not hasattr(event, key):
            raise TypeError("UsageEvent has no field " + repr(key))
        setattr(event, key, value)
    return event


def _openai(resp: Any, input_name: str, output_name: str, input_details: str, output_details: str,
            fields: Any) -> UsageEvent:
    usage = _get(resp, "usage")
    if usage is None:
        raise ValueError("the response has no usage")
    total_input = _int(_get(usage, input_name))
    cached = _int(_get(_get(usage, input_details), "cached_tokens"))
    event = UsageEvent(provider="openai", model=_get(resp, "model"), idempotency_key=_id(resp))
    if total_input is not None:
        event.input_tokens = max(0, total_input - (cached or 0))
    event.output_tokens = _int(_get(usage, output_name))
    event.cache_read_tokens = cached
    event.reasoning_tokens = _int(_get(_get(usage, output_details), "reasoning_tokens"))
    return _apply(event, **fields)


def from_openai_chat(resp: Any, **fields: Any) -> UsageEvent:
    """An OpenAI Chat Completions response (``object: "chat.completion"``, or the last stream chunk
    carrying ``usage``). ``fields`` (``agent_name``, ``provider`` for Azure OpenAI, …) are set on the
    event."""
    return _openai(_load(resp), "prompt_tokens", "completion_tokens", "prompt_tokens_details",
                   "completion_tokens_details", fields)


def from_openai_responses(resp: Any, **fields: Any) -> UsageEvent:
    """An OpenAI Responses API response (``object: "response"``)."""
    return _openai(_load(resp), "input_tokens", "output_tokens", "input_tokens_details",
                   "output_tokens_details", fields)


def from_anthropic(resp: Any, **fields: Any) -> UsageEvent:
    """An Anthropic Messages response (``type: "message"``)."""
    resp = _load(resp)
    usage = _get(resp, "usage")
    if usage is None:
        raise ValueError("the response has no usage")
    event = UsageEvent(provider="anthropic", model=_get(resp, "model"), idempotency_key=_id(resp))
    event.input_tokens = _int(_get(usage, "input_tokens"))
    event.output_tokens = _int(_get(usage, "output_tokens"))
    event.cache_read_tokens = _int(_get(usage, "cache_read_input_tokens"))
    event.cache_write_tokens = _int(_get(usage, "cache_creation_input_tokens"))
    creation = _get(usage, "cache_creation")
    if creation is not None:
        one_hour = _int(_get(creation, "ephemeral_1h_input_tokens"))
        if one_hour is not None:
            five_min = _int(_get(creation, "ephemeral_5m_input_tokens")) or 0
            if event.cache_write_tokens is None:
                event.cache_write_tokens = one_hour + five_min
            event.cache_write_1h_tokens = min(one_hour, event.cache_write_tokens)
    return _apply(event, **fields)


def from_response(resp: Any, **fields: Any) -> UsageEvent:
    """Any of the three, recognised by its shape."""
    resp = _load(resp)
    kind = _get(resp, "object")
    if kind == "chat.completion" or kind == "chat.completion.chunk":
        return from_openai_chat(resp, **fields)
    if kind == "response":
        return from_openai_responses(resp, **fields)
    if _get(resp, "type") == "message":
        return from_anthropic(resp, **fields)
    usage = _get(resp, "usage")
    if usage is None:
        raise ValueError("the response has no usage")
    if _get(usage, "prompt_tokens") is not None:
        return from_openai_chat(resp, **fields)
    if _get(usage, "cache_read_input_tokens") is not None or _get(usage, "cache_creation_input_tokens") is not None:
        return from_anthropic(resp, **fields)
    if _get(usage, "input_tokens_details") is not None or _get(usage, "output_tokens_details") is not None:
        return from_openai_responses(resp, **fields)
    raise ValueError("not an OpenAI or Anthropic response")
