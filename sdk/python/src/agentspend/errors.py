"""Errors and report types of the AgentSpend client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional


class AgentSpendError(Exception):
    """An AgentSpend call failed (a refused configuration, an unexpected answer)."""

    def __init__(self, message: str, status: Optional[int] = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class SpendRefused(AgentSpendError):
    """A check was refused: the agent must not spend.

    ``reason`` is the server's (``killed``, ``agent_paused``, ``budget_exceeded``), or
    ``unreachable`` when the service could not be asked and the client fails closed.
    """

    def __init__(
        self,
        reason: str,
        budget: Optional[Dict[str, Any]] = None,
        resume_at: Optional[str] = None,
        retry_after: Optional[float] = None,
        status: Optional[int] = 429,
        body: Any = None,
    ) -> None:
        message = "spend refused: " + reason
        if resume_at:
            message += " (resumes at " + str(resume_at) + ")"
        super().__init__(message, status=status, body=body)
        self.reason = reason
        self.budget = budget
        self.resume_at = resume_at
        self.retry_after = retry_after


@dataclass(frozen=True)
class Rejection:
    """One event the server refused: ``field`` and ``reason`` as the server gave them."""

    event: Dict[str, Any]
    field: str
    reason: str
    index: int = -1
    status: int = 202
    extra: Dict[str, Any] = field(default_factory=dict)
