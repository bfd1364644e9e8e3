"""POST /sessions"""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.schemas import SessionBody
from prakerja.http.views import session_body

fn = ApiFunction("create_session")
metrics = fn.metrics


@fn.route("POST", "/sessions")
def create_session() -> Response:
    body = fn.body(SessionBody)
    session = composition.registration_service().create_session(body.email, body.password)
    metrics.add_metric(name="SessionCreated", unit=MetricUnit.Count, value=1)
    return json_response(200, session_body(session))


handler = fn.handler
