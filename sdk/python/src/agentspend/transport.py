"""The HTTP transport the client sends through: a one-method interface, so that tests (and callers
with their own HTTP stack or proxy rules) can replace it without sockets."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional

try:  # Protocol is in typing from 3.8
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore


@dataclass
class HttpResponse:
    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> Optional[str]:
        lower = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lower:
                return value
        return None


class Transport(Protocol):
    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes], timeout: float
    ) -> HttpResponse:
        """Send one request and return its answer, whatever its status. Raise ``OSError`` (for
        example ``ConnectionError`` or ``TimeoutError``) when no answer came."""
        ...  # pragma: no cover


class UrllibTransport:
    """The default transport: ``urllib.request`` (honours the usual proxy environment variables)."""

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes], timeout: float
    ) -> HttpResponse:
        req = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (URL set by the caller)
                return HttpResponse(resp.status, dict(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as err:
            try:
                data = err.read()
            except Exception:  # noqa: BLE001
                data = b""
            return HttpResponse(err.code, dict(err.headers.items()) if err.headers else {}, data)
        except http.client.HTTPException as err:  # a broken answer: as if the connection failed
            raise ConnectionError(str(err)) from err
