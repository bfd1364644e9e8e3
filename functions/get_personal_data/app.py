"""GET /registrations/{id}/personal-data  (auth)"""

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response, require_registration_id
from prakerja.http.views import personal_data_body

fn = ApiFunction("get_personal_data")


@fn.route("GET", "/registrations/{id}/personal-data")
def get_personal_data(registration_id: str) -> Response:
    claims = fn.authenticate(require_registration_id(registration_id), composition.keys().token)
    # a signed-out or reset token: 401 (checked against the registration's token generation)
    reg = composition.personal_data_service().get_personal_data(registration_id, claims.generation)
    return json_response(200, personal_data_body(reg), {"Cache-Control": "no-store"})


handler = fn.handler
