"""POST /sessions"""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja.http.api import ApiFunction, json_response
from prakerja.http.schemas import SessionBody
from prakerja.services import registration_service

fn = ApiFunction("create_session")
metrics = fn.metrics


@fn.route("POST", "/sessions")
def create_session():  # type: ignore[no-untyped-def]
    body = fn.body(SessionBody)
    session = registration_service().login(body.email, body.password)
    metrics.add_metric(name="LoggedIn", unit=MetricUnit.Count, value=1)
    return json_response(200, session.body())


handler = fn.handler
