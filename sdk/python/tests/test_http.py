"""One test through a real HTTP server on 127.0.0.1: gzip body, headers, 202 parsing, check."""

from __future__ import annotations

import gzip
import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import _support

from agentspend import AgentSpend, SpendRefused


class Handler(BaseHTTPRequestHandler):
    seen = []  # type: list

    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
        Handler.seen.append((self.path, dict(self.headers), json.loads(body)))
        if self.path == "/api/v1/ingest":
            n = len(json.loads(body)["events"])
            if len(Handler.seen) == 1:
                self._answer(503, {"reason": "queue_unavailable"}, {"Retry-After": "0"})
            else:
                self._answer(202, {"accepted": n, "rejected": 0, "errors": [], "rejected_agents": []})
        else:
            self._answer(429, {"allowed": False, "reason": "killed", "budget": None, "resume_at": None}, {"Retry-After": "60"})

    def _answer(self, code, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class RealHttpTests(unittest.TestCase):
    def test_gzip_headers_retry_and_check(self):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = "http://127.0.0.1:%d" % server.server_address[1]
            client = AgentSpend(url, "as_test_key", agent_name="http-bot", flush_at_exit=False)
            client.record(provider="openai", model="gpt-4o", input_tokens=3, output_tokens=1)
            self.assertTrue(client.flush(5))
            with self.assertRaises(SpendRefused) as ctx:
                client.check(estimated_cost_usd=0.1)
            self.assertEqual((ctx.exception.reason, ctx.exception.retry_after), ("killed", 60.0))
            client.close(2)
        finally:
            server.shutdown()
            server.server_close()
        (p1, h1, b1), (p2, h2, b2), (p3, h3, b3) = Handler.seen
        self.assertEqual((p1, p2, p3), ("/api/v1/ingest", "/api/v1/ingest", "/api/v1/check"))
        self.assertEqual(h1["Content-Encoding"], "gzip")
        self.assertEqual(h1["Content-Type"], "application/json")
        self.assertEqual(h1["Authorization"], "Bearer as_test_key")
        self.assertTrue(h1["User-Agent"].startswith("agentspend-python/"))
        self.assertEqual(b1, b2)  # the resend is the same batch, same keys
        self.assertEqual(b1["events"][0]["agent_name"], "http-bot")
        self.assertEqual(b3, {"agent_name": "http-bot", "estimated_cost_usd": 0.1})
        self.assertEqual((client.sent, client.retries, client.dropped), (1, 1, 0))


if __name__ == "__main__":
    unittest.main()
