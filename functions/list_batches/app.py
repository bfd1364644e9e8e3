"""GET /batches  (no auth)"""

from prakerja.batch_services import batch_service
from prakerja.http.api import ApiFunction, json_response

fn = ApiFunction("list_batches")


@fn.route("GET", "/batches")
def list_batches():  # type: ignore[no-untyped-def]
    return json_response(200, {"batches": batch_service().list()})


handler = fn.handler
