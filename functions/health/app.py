"""GET /health — liveness of the API (no dependencies called)."""

from prakerja.http.api import ApiFunction, json_response

fn = ApiFunction("health")


@fn.route("GET", "/health")
def health():  # type: ignore[no-untyped-def]
    return json_response(200, {"status": "ok"})


handler = fn.handler
