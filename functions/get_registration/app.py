"""GET /registrations/{id}  (auth)"""

from prakerja.http.api import ApiFunction, json_response
from prakerja.runtime import keys
from prakerja.services import registration_service

fn = ApiFunction("get_registration")


@fn.route("GET", "/registrations/{id}")
def get_registration(registration_id: str):  # type: ignore[no-untyped-def]
    fn.authenticate(registration_id, keys().token)
    return json_response(200, registration_service().status(registration_id))


handler = fn.handler
