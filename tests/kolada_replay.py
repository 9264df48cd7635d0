"""A local HTTP server (127.0.0.1 only) that replays Kolada API v3 answers for the client tests.

``server.route(path_and_query, *answers)`` queues answers for one URL; each
request takes the next one, the last repeats. An answer is a dict body (sent
as JSON), a ``str``/``bytes`` body sent as it is, or :class:`Answer` with a
status, headers and a delay. Requests are recorded in ``server.log``.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    body: object = None
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class ReplayServer:
    def __init__(self):
        self.routes: dict[str, list] = {}
        self.log: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                outer.log.append(self.path)
                queue = outer.routes.get(self.path)
                if not queue:
                    self._send(Answer({"error": f"ingen route för {self.path}"}, status=404))
                    return
                ans = queue.pop(0) if len(queue) > 1 else queue[0]
                if not isinstance(ans, Answer):
                    ans = Answer(ans)
                if ans.delay:
                    time.sleep(ans.delay)
                self._send(ans)

            def _send(self, ans: Answer):
                body = ans.body
                if isinstance(body, (dict, list)):
                    body = json.dumps(body, ensure_ascii=False).encode()
                elif isinstance(body, str):
                    body = body.encode()
                elif body is None:
                    body = b""
                try:
                    self.send_response(ans.status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in ans.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v3"

    def route(self, path: str, *answers) -> None:
        self.routes["/v3/" + path.lstrip("/")] = list(answers)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
