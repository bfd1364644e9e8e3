"""The API's OpenAPI document (`/openapi.json`, docs/openapi.json as committed) and its reference
page (`/docs`, Swagger UI), served by the local gateway.

Swagger UI comes from the pinned PyPI package `swagger-ui-py` (requirements/dev.txt): its static
files are served from site-packages, nothing from a CDN. The document is read at each request
(run `make openapi` and reload); its first server is this stack, so "Try it out" calls it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from infra.local import apigw
from infra.local.apigw import HttpRequest, HttpResponse

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
ASSETS = {  # file in swagger_ui/static -> content type
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
INIT_JS = f"""window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: "{OPENAPI_PATH}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
  }});
}});
"""
PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Prakerja registration API reference</title>
  <link rel="stylesheet" href="{DOCS_PATH}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{DOCS_PATH}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{DOCS_PATH}/swagger-ui-bundle.js"></script>
  <script src="{DOCS_PATH}/init.js"></script>
</body>
</html>
"""
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def swagger_ui_static() -> Path | None:
    """The static folder of the installed swagger-ui-py package (None when it is not installed)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    return static if static.is_dir() else None


class ApiDocs:
    def __init__(self, document: Path) -> None:
        self.document = document
        self.static = swagger_ui_static()

    @staticmethod
    def handles(path: str) -> bool:
        return path in (OPENAPI_PATH, DOCS_PATH) or path.startswith(DOCS_PATH + "/")

    def serve(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            detail = "This resource accepts GET."
            return apigw.problem(405, "method-not-allowed", "Method not allowed", detail, headers=[("Allow", "GET")])
        if request.path == OPENAPI_PATH:
            return self._document(request)
        if request.path in (DOCS_PATH, DOCS_PATH + "/"):
            return self._file(PAGE.encode(), "text/html; charset=utf-8")
        name = request.path[len(DOCS_PATH) + 1 :]
        if name == "init.js":
            return self._file(INIT_JS.encode(), "text/javascript; charset=utf-8")
        if name in ASSETS and self.static is not None:
            return self._file((self.static / name).read_bytes(), ASSETS[name])
        detail = "No such file." if self.static is not None else "Swagger UI is not installed: run `make install`."
        return apigw.problem(404, "not-found", "Not found", detail)

    def _document(self, request: HttpRequest) -> HttpResponse:
        if not self.document.is_file():
            return apigw.problem(404, "not-found", "Not found", "No OpenAPI document: run `make openapi`.")
        document = json.loads(self.document.read_text(encoding="utf-8"))
        host = next((v for k, v in request.headers if k.lower() == "host"), "")
        if host:  # this stack first, so the reference page's "Try it out" reaches it
            here = {"url": f"http://{host}", "description": "This local stack"}
            document["servers"] = [here, *document.get("servers", [])[1:]]
        body = json.dumps(document, indent=2, ensure_ascii=False).encode()
        return HttpResponse(200, [("Content-Type", "application/json"), ("Cache-Control", "no-cache")], body)

    @staticmethod
    def _file(body: bytes, content_type: str) -> HttpResponse:
        headers = [
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache"),
            ("Content-Security-Policy", CSP),
            ("X-Content-Type-Options", "nosniff"),
        ]
        return HttpResponse(200, headers, body)
