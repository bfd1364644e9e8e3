"""POST /registrations/{id}/email-verification"""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response, require_registration_id
from prakerja.http.schemas import CodeBody
from prakerja.http.views import session_body

fn = ApiFunction("verify_email")
metrics = fn.metrics


@fn.route("POST", "/registrations/{id}/email-verification")
def verify_email(registration_id: str) -> Response:
    require_registration_id(registration_id)
    body = fn.body(CodeBody)
    session = composition.registration_service().verify_email(registration_id, body.code)
    metrics.add_metric(name="EmailVerified", unit=MetricUnit.Count, value=1)
    return json_response(200, session_body(session, status="EMAIL_VERIFIED"))


handler = fn.handler
