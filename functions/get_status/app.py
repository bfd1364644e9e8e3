"""GET /status — public, cacheable 15 s: email and NIK-check backlogs, and the registry's health."""

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.views import status_body

fn = ApiFunction("get_status")


@fn.route("GET", "/status")
def get_status() -> Response:
    status = composition.status_service().get_status()
    return json_response(200, status_body(status), headers={"Cache-Control": "public, max-age=15"})


handler = fn.handler
