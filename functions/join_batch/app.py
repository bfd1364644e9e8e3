"""POST /registrations/{id}/batch  (auth)"""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja.batch_services import batch_service
from prakerja.http.api import ApiFunction, json_response
from prakerja.http.schemas import JoinBatchBody
from prakerja.runtime import keys

fn = ApiFunction("join_batch")
logger, metrics, tracer = fn.logger, fn.metrics, fn.tracer


@fn.route("POST", "/registrations/{id}/batch")
def join_batch(registration_id: str):  # type: ignore[no-untyped-def]
    fn.authenticate(registration_id, keys().token)  # before the body is even looked at
    body = fn.body(JoinBatchBody)
    result = batch_service().join(registration_id, body.batch_id)
    if result.joined:
        metrics.add_metric(name="Joined", unit=MetricUnit.Count, value=1)
        logger.info("batch joined", extra={"batch_id": result.batch_id, "attempts": result.attempts})
    return json_response(200, {"batch_id": result.batch_id, "status": "JOINED"})


handler = fn.handler
