"""A LangChain callback handler that records each LLM call's usage.

LangChain is optional: the handler subclasses ``langchain_core.callbacks.BaseCallbackHandler`` when
it can be imported, and is a plain class with the same methods otherwise (it is only ever called
through those methods). Nothing of the prompts or outputs is read.

Token kinds: LangChain's ``usage_metadata.input_tokens`` is the sum of every input kind, so the cache
reads (``input_token_details.cache_read``) and writes (``cache_creation``) are taken out of it;
``output_token_details.reasoning`` is part of ``output_tokens``. Without ``usage_metadata`` the
handler reads ``llm_output["token_usage"]`` (OpenAI-style counts, cached share subtracted) or
``llm_output["usage"]`` (Anthropic-style counts).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, List, Optional, Sequence
from uuid import UUID

from .client import AgentSpend, current_run

logger = logging.getLogger("agentspend")

try:  # pragma: no cover - depends on what is installed
    from langchain_core.callbacks import BaseCallbackHandler as _Base
except Exception:  # noqa: BLE001
    class _Base:  # type: ignore[no-redef]
        """Stand-in with the attributes LangChain's callback manager reads."""

        raise_error = False
        run_inline = False
        ignore_llm = False
        ignore_chain = False
        ignore_agent = False
        ignore_retriever = False
        ignore_chat_model = False
        ignore_retry = False
        ignore_custom_event = False


_PROVIDERS = {
    "openai": "openai", "azure": "azure_openai", "anthropic": "anthropic", "bedrock": "aws_bedrock",
    "google": "google", "vertexai": "google", "genai": "google", "mistralai": "mistral", "groq": "groq",
    "ollama": "ollama", "cohere": "cohere", "deepseek": "deepseek", "xai": "xai",
}


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _n(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _guess_provider(model: Optional[str]) -> Optional[str]:
    if not model:
        return None
    m = model.lower()
    if m.startswith(("gpt-", "o1", "o3", "o4", "chatgpt", "text-embedding", "codex")):
        return "openai"
    if m.startswith("claude"):
        return "anthropic"
    if m.startswith("gemini"):
        return "google"
    return None


def _provider_from_serialized(serialized: Any) -> Optional[str]:
    ids = _get(serialized, "id")
    if isinstance(ids, (list, tuple)):
        for part in ids:
            lower = str(part).lower()
            for key, provider in _PROVIDERS.items():
                if key in lower and lower not in ("langchain", "chat_models", "llms"):
                    return provider
    return None


class AgentSpendCallbackHandler(_Base):  # type: ignore[misc, valid-type]
    """Records one event per LLM call (``on_llm_end``), with the run id of the chain it ran in.

    ``run_id`` of the event: inside ``client.run(...)`` the AgentSpend run's id; otherwise the id of
    the outermost LangChain run the call belongs to (the chain, or the LLM call itself when it ran
    alone). ``idempotency_key`` is ``langchain:<the LLM call's run id>``, so a callback delivered
    twice counts once. ``fields`` (``agent_name``, ``team``, ``task_type``, ``provider``, …) are added
    to every event; ``framework`` defaults to ``langchain``.
    """

    def __init__(self, client: AgentSpend, **fields: Any) -> None:
        super().__init__()
        self.client = client
        self.fields: Dict[str, Any] = dict(fields)
        self.fields.setdefault("framework", "langchain")
        self._parents: Dict[str, Optional[str]] = {}
        self._providers: Dict[str, str] = {}
        self._lock = threading.Lock()

    # -- run tree ---------------------------------------------------------------------------

    def _remember(self, run_id: Any, parent_run_id: Any, serialized: Any = None) -> None:
        if run_id is None:
            return
        with self._lock:
            self._parents[str(run_id)] = str(parent_run_id) if parent_run_id is not None else None
            provider = _provider_from_serialized(serialized)
            if provider:
                self._providers[str(run_id)] = provider

    def _root(self, run_id: str) -> str:
        with self._lock:
            seen = set()
            current = run_id
            while current not in seen:
                seen.add(current)
                parent = self._parents.get(current)
                if parent is None:
                    break
                current = parent
            return current

    def _forget(self, run_id: Any) -> None:
        with self._lock:
            key = str(run_id)
            self._providers.pop(key, None)
            # A finished root chain takes its subtree with it.
            if self._parents.get(key) is None:
                for child in [k for k, p in self._parents.items() if p == key]:
                    self._parents.pop(child, None)
                self._parents.pop(key, None)

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID,
                       parent_run_id: Optional[UUID] = None, **kwargs: Any) -> None:
        self._remember(run_id, parent_run_id)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, parent_run_id: Optional[UUID] = None, **kwargs: Any) -> None:
        if parent_run_id is None:
            self._forget(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, parent_run_id: Optional[UUID] = None,
                       **kwargs: Any) -> None:
        if parent_run_id is None:
            self._forget(run_id)

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID,
                     parent_run_id: Optional[UUID] = None, **kwargs: Any) -> None:
        self._remember(run_id, parent_run_id, serialized)

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID,
                            parent_run_id: Optional[UUID] = None, **kwargs: Any) -> None:
        self._remember(run_id, parent_run_id, serialized)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, parent_run_id: Optional[UUID] = None,
                     **kwargs: Any) -> None:
        with self._lock:
            self._providers.pop(str(run_id), None)
            self._parents.pop(str(run_id), None)

    # -- usage ------------------------------------------------------------------------------

    def on_llm_end(self, response: Any, *, run_id: UUID, parent_run_id: Optional[UUID] = None, **kwargs: Any) -> None:
        try:
            self._record(response, run_id, parent_run_id)
        except Exception:  # noqa: BLE001 - never raise into the chain
            logger.exception("agentspend: LangChain usage not recorded")
        finally:
            with self._lock:
                self._providers.pop(str(run_id), None)
                self._parents.pop(str(run_id), None)

    def _record(self, response: Any, run_id: Any, parent_run_id: Any) -> None:
        if parent_run_id is not None:
            self._remember(run_id, parent_run_id)
        event = self._usage(response)
        if event is None:
            logger.debug("agentspend: LangChain call %s reported no usage", run_id)
            return
        model = event.pop("model", None)
        with self._lock:
            provider = self._providers.get(str(run_id))
        provider = provider or event.pop("provider", None) or _guess_provider(model) or "unknown"
        event.pop("provider", None)
        out: Dict[str, Any] = {"provider": provider, "model": model or "unknown"}
        out.update(event)
        out["idempotency_key"] = "langchain:" + str(run_id)
        out.update(self.fields)
        run = current_run()
        if run is None or run.client is not self.client:
            out.setdefault("run_id", self._root(str(run_id)))
        self.client.record(out)

    @staticmethod
    def _usage(response: Any) -> Optional[Dict[str, Any]]:
        model: Optional[str] = None
        provider: Optional[str] = None
        totals: Dict[str, int] = {}
        found = False
        generations: Sequence[Any] = _get(response, "generations") or []
        for group in generations:
            for gen in group if isinstance(group, (list, tuple)) else [group]:
                message = _get(gen, "message")
                meta = _get(message, "response_metadata") or {}
                model = model or _get(meta, "model_name") or _get(meta, "model")
                provider = provider or _get(meta, "model_provider")
                usage = _get(message, "usage_metadata")
                if not usage:
                    continue
                found = True
                ind = _get(usage, "input_token_details") or {}
                outd = _get(usage, "output_token_details") or {}
                read = _n(_get(ind, "cache_read"))
                write = _n(_get(ind, "cache_creation"))
                one_h = _get(ind, "ephemeral_1h_input_tokens")
                five_m = _get(ind, "ephemeral_5m_input_tokens")
                if one_h is not None or five_m is not None:
                    write = max(write, _n(one_h) + _n(five_m))
                    totals["cache_write_1h_tokens"] = totals.get("cache_write_1h_tokens", 0) + _n(one_h)
                for key, value in (
                    ("input_tokens", max(0, _n(_get(usage, "input_tokens")) - read - write)),
                    ("output_tokens", _n(_get(usage, "output_tokens"))),
                    ("cache_read_tokens", read),
                    ("cache_write_tokens", write),
                    ("reasoning_tokens", _n(_get(outd, "reasoning"))),
                ):
                    totals[key] = totals.get(key, 0) + value
        llm_output = _get(response, "llm_output") or {}
        model = model or _get(llm_output, "model_name") or _get(llm_output, "model")
        if not found:
            usage = _get(llm_output, "token_usage")
            if usage:  # OpenAI-style: prompt tokens include the cached ones
                found = True
                cached = _n(_get(_get(usage, "prompt_tokens_details"), "cached_tokens"))
                totals = {
                    "input_tokens": max(0, _n(_get(usage, "prompt_tokens")) - cached),
                    "output_tokens": _n(_get(usage, "completion_tokens")),
                    "cache_read_tokens": cached,
                    "reasoning_tokens": _n(_get(_get(usage, "completion_tokens_details"), "reasoning_tokens")),
                }
            else:
                usage = _get(llm_output, "usage")
                if usage:  # Anthropic-style: input excludes the cache already
                    found = True
                    totals = {
                        "input_tokens": _n(_get(usage, "input_tokens")),
                        "output_tokens": _n(_get(usage, "output_tokens")),
                        "cache_read_tokens": _n(_get(usage, "cache_read_input_tokens")),
                        "cache_write_tokens": _n(_get(usage, "cache_creation_input_tokens")),
                    }
        if not found:
            return None
        event: Dict[str, Any] = {k: v for k, v in totals.items() if v or k in ("input_tokens", "output_tokens")}
        if "cache_write_1h_tokens" in totals:
            event["cache_write_1h_tokens"] = min(totals["cache_write_1h_tokens"], totals.get("cache_write_tokens", 0))
        event["model"] = model
        if provider:
            event["provider"] = _PROVIDERS.get(str(provider).lower(), str(provider).lower())
        return event


__all__: List[str] = ["AgentSpendCallbackHandler"]
