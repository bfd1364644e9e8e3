"""GET /registrations/{id}  (auth)"""

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.views import registration_body

fn = ApiFunction("get_registration")


@fn.route("GET", "/registrations/{id}")
def get_registration(registration_id: str) -> Response:
    fn.authenticate(registration_id, composition.keys().token)
    return json_response(200, registration_body(composition.registration_service().get_registration(registration_id)))


handler = fn.handler
