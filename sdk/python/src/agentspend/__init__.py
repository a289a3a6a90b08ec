"""AgentSpend: record what AI agents spend, and ask before spending.

    from agentspend import AgentSpend
    with AgentSpend(agent_name="triage-bot") as client:   # AGENTSPEND_URL / AGENTSPEND_KEY
        client.record(provider="openai", model="gpt-4o-mini", input_tokens=120, output_tokens=40)
"""

from ._uuid7 import uuid7
from ._version import __version__
from .client import AgentSpend, CheckResult, Reservation, Run, current_run, parse_retry_after
from .errors import AgentSpendError, Rejection, SpendRefused
from .events import UsageEvent
from .responses import from_anthropic, from_openai_chat, from_openai_responses, from_response
from .transport import HttpResponse, Transport, UrllibTransport

__all__ = [
    "AgentSpend",
    "AgentSpendError",
    "CheckResult",
    "HttpResponse",
    "Rejection",
    "Reservation",
    "Run",
    "SpendRefused",
    "Transport",
    "UrllibTransport",
    "UsageEvent",
    "__version__",
    "current_run",
    "from_anthropic",
    "from_openai_chat",
    "from_openai_responses",
    "from_response",
    "parse_retry_after",
    "uuid7",
]
