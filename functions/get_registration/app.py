"""GET /registrations/{id}  (auth)"""

from prakerja import composition
from prakerja.domain.sessions import ensure_current
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.views import registration_body

fn = ApiFunction("get_registration")


@fn.route("GET", "/registrations/{id}")
def get_registration(registration_id: str) -> Response:
    claims = fn.authenticate(registration_id, composition.keys().token)
    reg = composition.registration_service().get_registration(registration_id)
    ensure_current(reg, claims.generation)  # a signed-out or reset token: 401
    return json_response(200, registration_body(reg))


handler = fn.handler
