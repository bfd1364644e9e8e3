"""POST /password-resets — 202 {} always (known or unknown email); a code email for a known one."""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.schemas import PasswordResetBody

fn = ApiFunction("request_password_reset")
metrics = fn.metrics


@fn.route("POST", "/password-resets")
def request_password_reset() -> Response:
    body = fn.body(PasswordResetBody)
    if composition.password_reset_service().request_password_reset(body.email):
        metrics.add_metric(name="PasswordResetRequested", unit=MetricUnit.Count, value=1)
    return json_response(202, {})


handler = fn.handler
