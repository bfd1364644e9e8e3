"""DELETE /registrations/{id}  (auth) {"password"}"""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, require_registration_id
from prakerja.http.schemas import DeleteRegistrationBody

fn = ApiFunction("delete_registration")
metrics = fn.metrics


@fn.route("DELETE", "/registrations/{id}")
def delete_registration(registration_id: str) -> Response:
    claims = fn.authenticate(require_registration_id(registration_id), composition.keys().token)
    body = fn.body(DeleteRegistrationBody)
    # a signed-out or reset token: 401 (checked against the registration's token generation)
    composition.personal_data_service().delete_registration(registration_id, body.password, claims.generation)
    metrics.add_metric(name="RegistrationDeleted", unit=MetricUnit.Count, value=1)
    return Response(204, "")


handler = fn.handler
