"""POST /registrations"""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja.domain.registration import NewRegistration
from prakerja.http.api import ApiFunction, json_response
from prakerja.http.schemas import RegisterBody
from prakerja.services import registration_service

fn = ApiFunction("register")
metrics = fn.metrics


@fn.route("POST", "/registrations")
def register():  # type: ignore[no-untyped-def]
    idempotency_key = fn.header("Idempotency-Key")
    body = fn.body(RegisterBody)
    outcome = registration_service().register(
        NewRegistration(email=body.email, password=body.password, full_name=body.full_name, phone=body.phone),
        idempotency_key=idempotency_key.strip() if idempotency_key else None,
        body_hash=fn.body_hash(),
    )
    if outcome.status_code == 201:
        metrics.add_metric(name="Registered", unit=MetricUnit.Count, value=1)
    return json_response(outcome.status_code, outcome.body)


handler = fn.handler
