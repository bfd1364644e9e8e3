"""POST /registrations/{id}/email-verification/resend"""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response, require_registration_id

fn = ApiFunction("resend_code")
metrics = fn.metrics


@fn.route("POST", "/registrations/{id}/email-verification/resend")
def resend_code(registration_id: str) -> Response:
    require_registration_id(registration_id)
    composition.registration_service().resend_code(registration_id)
    metrics.add_metric(name="CodeResent", unit=MetricUnit.Count, value=1)
    return json_response(202, {})


handler = fn.handler
