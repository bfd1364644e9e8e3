"""The local API gateway: HTTP on loopback -> REST proxy events -> the handlers, in-process.

Gateway-level answers mirror the template's API: unknown path 404, wrong method 405 (with
Allow), body over 10 MiB 413, a crashing handler DEFAULT_5XX's status (502 when the template
does not pin one), CORS preflight from the Api's `Cors`, Access-Control-Allow-Origin on every
response, the stage's per-route throttles and the WAF's per-client rate rules (infra/local/limits.py;
429 problem+json with Retry-After; PRAKERJA_LOCAL_LIMITS=off turns them off). One access-log
line per request: method, resource path (never the concrete path, query string or body), status,
latency.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infra.local import apigw
from infra.local.api_docs import ApiDocs
from infra.local.apigw import CorsConfig, HttpRequest, HttpResponse, MalformedResponse, Resource, RouteTable
from infra.local.limits import Limits, client_address
from infra.local.names import HOST
from infra.local.web_client import WEB_PREFIX, WebClient

log = logging.getLogger("infra.local.gateway")
access_log = logging.getLogger("infra.local.access")
MAX_BODY_BYTES = 10 * 1024 * 1024
# A body over the limit is still read (and dropped) up to this size, so the client gets the 413
# instead of a reset connection; beyond it the connection is closed unread.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
MAILBOX_PATH = "/_dev/mailbox"
Invoke = Callable[[str, dict[str, Any]], Any]  # (function logical id, event) -> result


class BodyTooLarge(Exception):
    pass


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class ApiSettings:
    """What the template configures for one API (or the implicit one)."""

    stage: str = "local"
    cors: CorsConfig = field(default_factory=CorsConfig)
    error_status: int = 502  # status of a crashed handler: the template's DEFAULT_5XX StatusCode, if pinned


class Gateway:
    def __init__(
        self,
        routes: RouteTable,
        invoke: Invoke,
        apis: Mapping[str | None, ApiSettings],
        mailbox: Callable[[str], list[dict[str, str]]],  # address -> its messages, oldest first
        web: WebClient | None = None,
        docs: ApiDocs | None = None,
        *,
        limits: Limits | None = None,
        trust_xff: bool = False,
    ) -> None:
        self.routes = routes
        self._limits = limits
        self._trust_xff = trust_xff
        self._web = web
        self._docs = docs
        self._invoke = invoke
        self._apis = dict(apis)
        self._mailbox_for = mailbox

    def settings(self, api: str | None) -> ApiSettings:
        return self._apis.get(api) or self._apis.get(None) or ApiSettings()

    def handle(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        """(response, resource path for the access log)."""
        if request.path == MAILBOX_PATH:
            return self._mailbox(request), MAILBOX_PATH
        if self._web is not None and self._web.handles(request.path):
            return self._web.serve(request), WEB_PREFIX
        if self._docs is not None and self._docs.handles(request.path):
            return self._docs.serve(request), request.path if request.path.endswith(".json") else "/docs"
        matched = self.routes.match(request.path)
        if matched is None:
            return apigw.problem(404, "not-found", "Not found", "No such resource or method."), "-"
        resource, params = matched
        settings = self.settings(resource.api)
        if self._limits is not None and resource.function_for(request.method) is not None:
            client = client_address(request.source_ip, request.headers, self._trust_xff)
            refused = self._limits.check(request.method, resource.path, client)
            if refused is not None:
                return self.with_cors(refused, settings.cors), resource.path
        return self.with_cors(self._dispatch(request, resource, params, settings), settings.cors), resource.path

    def _dispatch(
        self, request: HttpRequest, resource: Resource, params: dict[str, str], settings: ApiSettings
    ) -> HttpResponse:
        function = resource.function_for(request.method)
        if function is None and request.method == "OPTIONS":
            return apigw.preflight(resource, settings.cors)
        if function is None:
            allowed = ", ".join(resource.allowed())
            return apigw.problem(
                405,
                "method-not-allowed",
                "Method not allowed",
                f"This resource accepts {allowed}.",
                headers=[("Allow", allowed)],
            )
        event = apigw.proxy_event(request, resource, params, settings.stage)
        try:
            return apigw.response_from_result(self._invoke(function, event))
        except MalformedResponse as exc:
            log.error("malformed proxy response", extra={"function": function, "reason": str(exc)})
        except Exception:
            log.exception("handler raised", extra={"function": function})
        return apigw.problem(
            settings.error_status, "internal-error", "Internal error", "Something went wrong on our side; please retry."
        )

    def _mailbox(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET":
            return apigw.problem(
                405,
                "method-not-allowed",
                "Method not allowed",
                "This resource accepts GET.",
                headers=[("Allow", "GET")],
            )
        to = (parse_qs(request.query).get("to") or [""])[-1].strip()
        if not to:
            return apigw.problem(
                422,
                "validation-failed",
                "Invalid request",
                "The query parameter `to` is required.",
                extra={"errors": [{"field": "to", "message": "is required"}]},
            )
        return apigw.json_response(200, {"messages": self._mailbox_for(to)})

    @staticmethod
    def with_cors(response: HttpResponse, cors: CorsConfig) -> HttpResponse:
        if response.header("Access-Control-Allow-Origin") is None:
            response.headers.append(("Access-Control-Allow-Origin", cors.allow_origin))
        return response


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "prakerja-local-gateway"
    timeout = 120  # idle keep-alive connections are closed after this
    gateway: Gateway

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # one structured access-log line per request instead

    def _serve(self) -> None:
        started = time.monotonic()
        resource = "-"
        try:
            request = self._request()
            response, resource = self.gateway.handle(request)
        except BodyTooLarge:
            response = apigw.problem(
                413,
                "payload-too-large",
                "Payload too large",
                f"The request body must be at most {MAX_BODY_BYTES} bytes.",
            )
        except BadRequest as exc:
            self.close_connection = True
            response = apigw.problem(400, "bad-request", "Bad request", str(exc))
        self._write(self.gateway.with_cors(response, self.gateway.settings(None).cors))  # if not set by route
        access_log.info(
            "request",
            extra={
                "method": self.command,
                "resource": resource,
                "status": response.status,
                "latency_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )

    def _request(self) -> HttpRequest:
        target = urlsplit(self.path)
        return HttpRequest(
            method=self.command,
            path=target.path or "/",
            query=target.query,
            headers=list(self.headers.items()),
            body=self._body(),
            source_ip=str(self.client_address[0]),
        )

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._chunked_body()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError:
            raise BadRequest("Content-Length is not a number") from None
        if length < 0:
            raise BadRequest("Content-Length is negative")
        if length > MAX_BODY_BYTES:
            self._drain(length)
            raise BodyTooLarge
        return self.rfile.read(length)

    def _drain(self, length: int) -> None:
        if length > DRAIN_LIMIT_BYTES:
            self.close_connection = True
            return
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def _chunked_body(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip() or b"x", 16)
            except ValueError:
                raise BadRequest("malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                self.close_connection = True
                raise BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _write(self, response: HttpResponse) -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        self.send_response(response.status, reason)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


class _ListeningServer(ThreadingHTTPServer):
    # The default listen backlog (5) resets connections when a client opens a few dozen at once
    # (the parallel-guess tests fire 16 at a time); API Gateway itself accepts them all.
    request_queue_size = 128


class GatewayServer:
    def __init__(self, gateway: Gateway, port: int) -> None:
        handler = type("GatewayRequestHandler", (_RequestHandler,), {"gateway": gateway})
        self._server = _ListeningServer((HOST, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
