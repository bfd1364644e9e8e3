"""GET /registrations/{id}/personal-data  (auth)"""

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response, require_registration_id
from prakerja.http.views import personal_data_body

fn = ApiFunction("get_personal_data")


@fn.route("GET", "/registrations/{id}/personal-data")
def get_personal_data(registration_id: str) -> Response:
    fn.authenticate(require_registration_id(registration_id), composition.keys().token)
    reg = composition.personal_data_service().get_personal_data(registration_id)
    return json_response(200, personal_data_body(reg), {"Cache-Control": "no-store"})


handler = fn.handler
