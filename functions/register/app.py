"""POST /registrations"""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja import composition
from prakerja.domain.registration import NewRegistration
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.schemas import RegisterBody

fn = ApiFunction("register")
metrics = fn.metrics


@fn.route("POST", "/registrations")
def register() -> Response:
    idempotency_key = fn.header("Idempotency-Key")
    body = fn.body(RegisterBody)
    registered = composition.registration_service().register(
        NewRegistration(
            email=body.email,
            password=body.password,
            full_name=body.full_name,
            phone=body.phone,
            terms_version=body.consent.terms_version,
        ),
        idempotency_key=idempotency_key.strip() if idempotency_key else None,
        body_hash=fn.body_hash(),
    )
    if not registered.replayed:
        metrics.add_metric(name="Registered", unit=MetricUnit.Count, value=1)
    return json_response(201, {"registration_id": registered.registration_id, "status": registered.status})


handler = fn.handler
