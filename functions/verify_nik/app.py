"""POST /registrations/{id}/nik  (auth) — structural check now, registry check queued."""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja.domain.nik_service import NikSubmission
from prakerja.http.api import ApiFunction, json_response
from prakerja.http.schemas import NikBody
from prakerja.runtime import keys
from prakerja.services import nik_submission_service

fn = ApiFunction("verify_nik")
metrics = fn.metrics


@fn.route("POST", "/registrations/{id}/nik")
def submit_nik(registration_id: str):  # type: ignore[no-untyped-def]
    fn.authenticate(registration_id, keys().token)
    body = fn.body(NikBody)
    nik_submission_service().submit(
        registration_id,
        NikSubmission(nik=body.nik, full_name=body.full_name, birth_date=body.birth, gender=body.gender),
    )
    metrics.add_metric(name="NikSubmitted", unit=MetricUnit.Count, value=1)
    return json_response(202, {"nik_status": "PENDING"})


handler = fn.handler
