"""POST /registrations/{id}/batch  (auth)"""

from aws_lambda_powertools.metrics import MetricUnit

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.schemas import JoinBatchBody

fn = ApiFunction("join_batch")
logger, metrics = fn.logger, fn.metrics


@fn.route("POST", "/registrations/{id}/batch")
def join_batch(registration_id: str) -> Response:
    claims = fn.authenticate(registration_id, composition.keys().token)  # before the body is even looked at
    body = fn.body(JoinBatchBody)
    result = composition.batch_service().join_batch(registration_id, body.batch_id, token_generation=claims.generation)
    if result.joined:
        metrics.add_metric(name="BatchJoined", unit=MetricUnit.Count, value=1)
        logger.info("batch joined", extra={"batch_id": result.batch_id, "attempts": result.attempts})
    return json_response(200, {"batch_id": result.batch_id, "status": "JOINED"})


handler = fn.handler
