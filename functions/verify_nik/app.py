"""POST /registrations/{id}/nik  (auth) — structural check now, registry check queued (check_nik)."""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja import composition
from prakerja.domain.nik_service import NikSubmission
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.schemas import NikBody

fn = ApiFunction("verify_nik")
metrics = fn.metrics


@fn.route("POST", "/registrations/{id}/nik")
def verify_nik(registration_id: str) -> Response:
    claims = fn.authenticate(registration_id, composition.keys().token)
    body = fn.body(NikBody)
    composition.nik_verification_service().verify_nik(
        registration_id,
        NikSubmission(nik=body.nik, full_name=body.full_name, birth_date=body.birth, gender=body.gender),
        token_generation=claims.generation,
    )
    metrics.add_metric(name="NikVerificationRequested", unit=MetricUnit.Count, value=1)
    return json_response(202, {"nik_status": "PENDING"})


handler = fn.handler
