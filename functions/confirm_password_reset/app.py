"""POST /password-resets/confirm — new password + a session; every earlier token revoked."""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.schemas import PasswordResetConfirmBody
from prakerja.http.views import session_body

fn = ApiFunction("confirm_password_reset")
metrics = fn.metrics


@fn.route("POST", "/password-resets/confirm")
def confirm_password_reset() -> Response:
    body = fn.body(PasswordResetConfirmBody)
    session = composition.password_reset_service().confirm_password_reset(body.email, body.code, body.new_password)
    metrics.add_metric(name="PasswordReset", unit=MetricUnit.Count, value=1)
    return json_response(200, session_body(session))


handler = fn.handler
