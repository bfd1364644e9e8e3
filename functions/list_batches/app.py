"""GET /batches  (no auth)"""

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.views import batch_body

fn = ApiFunction("list_batches")


@fn.route("GET", "/batches")
def list_batches() -> Response:
    return json_response(200, {"batches": [batch_body(b) for b in composition.batch_service().list_batches()]})


handler = fn.handler
