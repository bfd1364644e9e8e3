"""GET /health — liveness of the API (no dependencies called)."""

from prakerja.http.api import ApiFunction, Response, json_response

fn = ApiFunction("health")


@fn.route("GET", "/health")
def health() -> Response:
    return json_response(200, {"status": "ok"})


handler = fn.handler
