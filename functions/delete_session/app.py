"""DELETE /sessions/current (auth) — sign-out: this token and every earlier one answer 401."""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja import composition
from prakerja.http.api import ApiFunction, Response

fn = ApiFunction("delete_session")
metrics = fn.metrics


@fn.route("DELETE", "/sessions/current")
def delete_session() -> Response:
    claims = fn.bearer(composition.keys().token)
    composition.session_service().sign_out(claims.registration_id, claims.generation)
    metrics.add_metric(name="SignedOut", unit=MetricUnit.Count, value=1)
    return Response(204, "", headers={})


handler = fn.handler
