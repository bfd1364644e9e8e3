"""The reference web client (web/) served by the local gateway under /app/, same origin as the API.

Files only, read at each request (edit web/ and reload). The response headers are the local
twin of the deployed CloudFront ResponseHeadersPolicy (template.yaml `WebHeadersPolicy`): the
same Content-Security-Policy, with the local AWS endpoint (moto) standing in for the photo bucket.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote

from infra.local import apigw
from infra.local.apigw import HttpRequest, HttpResponse

WEB_PREFIX = "/app/"
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
}


def content_security_policy(connect_src: Iterable[str]) -> str:
    """The policy of template.yaml's WebHeadersPolicy; `connect_src`: origins the page may call."""
    sources = " ".join(["'self'", *connect_src])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        f"connect-src {sources}; font-src 'self'; manifest-src 'self'; form-action 'none'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


class WebClient:
    def __init__(self, root: Path, connect_src: Iterable[str] = ()) -> None:
        self.root = root.resolve()
        self.csp = content_security_policy(connect_src)

    @staticmethod
    def handles(path: str) -> bool:
        return path == WEB_PREFIX.rstrip("/") or path.startswith(WEB_PREFIX)

    def serve(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            detail = "This resource accepts GET."
            return apigw.problem(405, "method-not-allowed", "Method not allowed", detail, headers=[("Allow", "GET")])
        if request.path == WEB_PREFIX.rstrip("/"):
            return HttpResponse(301, [("Location", WEB_PREFIX)])
        relative = unquote(request.path[len(WEB_PREFIX) :]) or "index.html"
        file = self._file(relative)
        if file is None:
            return apigw.problem(404, "not-found", "Not found", "No such file in the web client.")
        headers = [
            ("Content-Type", MIME_TYPES.get(file.suffix.lower(), "application/octet-stream")),
            ("Cache-Control", "no-cache"),
            ("Content-Security-Policy", self.csp),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
            ("Permissions-Policy", "camera=(self), geolocation=(), microphone=()"),
        ]
        return HttpResponse(200, headers, file.read_bytes())

    def _file(self, relative: str) -> Path | None:
        parts = relative.split("/")
        if any(part in ("", ".", "..") or part.startswith(".") for part in parts) or "\\" in relative:
            return None
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate
