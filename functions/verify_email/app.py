"""POST /registrations/{id}/email-verification"""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja.http.api import ApiFunction, json_response, require_registration_id
from prakerja.http.schemas import CodeBody
from prakerja.services import registration_service

fn = ApiFunction("verify_email")
metrics = fn.metrics


@fn.route("POST", "/registrations/{id}/email-verification")
def verify_email(registration_id: str):  # type: ignore[no-untyped-def]
    require_registration_id(registration_id)
    body = fn.body(CodeBody)
    session = registration_service().verify_email(registration_id, body.code)
    metrics.add_metric(name="EmailVerified", unit=MetricUnit.Count, value=1)
    return json_response(200, session.body(status="EMAIL_VERIFIED"))


handler = fn.handler
