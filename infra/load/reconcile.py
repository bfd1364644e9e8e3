"""After a local load run: what the API answered against what the local DynamoDB holds.

Read with boto3 at the local stack's moto endpoint (the registrations table, by its local name).
- every registration answered 201 is stored, once, and nothing else is (REG items == 201s);
- every stored registration holds exactly one email claim (EMAIL items == REG items);
- every NIK check answered 202 is recorded as submitted, holds one NIK claim, and finished
  (VERIFIED or REJECTED) once the worker has drained the queue.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from infra.load.journey import Plan
from infra.local.names import DEFAULT_REGION, local_resource_names, physical_name

TABLE = physical_name("RegistrationsTable")
_QUEUE_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)
_FINISHED = frozenset({"VERIFIED", "REJECTED"})


@dataclass
class Reconciliation:
    answered_201: int
    stored_registrations: int
    unknown_stored: int  # stored registrations no 201 answered
    missing: int  # 201s with no stored registration
    email_claims: int
    nik_accepted: int
    nik_submitted_stored: int  # registrations whose nik_status is not NONE
    nik_claims: int
    nik_status: dict[str, int] = field(default_factory=dict)

    @property
    def nik_finished(self) -> int:
        return sum(n for status, n in self.nik_status.items() if status in _FINISHED)

    @property
    def consistent(self) -> bool:
        return (
            self.answered_201 == self.stored_registrations
            and self.unknown_stored == 0
            and self.missing == 0
            and self.email_claims == self.stored_registrations
            and self.nik_submitted_stored == self.nik_accepted
            and self.nik_claims == self.nik_accepted
            and self.nik_finished == self.nik_accepted
        )

    def lines(self) -> dict[str, Any]:
        return {
            "registrations answered 201 / stored / email claims": (
                f"{self.answered_201} / {self.stored_registrations} / {self.email_claims}"
                f" (stored without a 201: {self.unknown_stored}, 201 not stored: {self.missing})"
            ),
            "NIK checks accepted (202) / recorded / NIK claims / finished": (
                f"{self.nik_accepted} / {self.nik_submitted_stored} / {self.nik_claims} / {self.nik_finished}"
                f" {dict(sorted(self.nik_status.items()))}"
            ),
            "reconciliation": "consistent" if self.consistent else "MISMATCH",
        }


def _region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION


def _client(aws_url: str, service: str = "dynamodb") -> Any:
    import boto3

    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        region_name=_region(),
        endpoint_url=aws_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106  # nosec B106 # moto accepts any key
    )


def _scan(aws_url: str) -> list[dict[str, Any]]:
    client = _client(aws_url)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": TABLE,
        "ProjectionExpression": "pk, registration_id, nik_status",
    }
    while True:
        page = client.scan(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _nik_statuses(items: list[dict[str, Any]]) -> Counter[str]:
    return Counter(item.get("nik_status", {}).get("S", "NONE") for item in items if item["pk"]["S"].startswith("REG#"))


def _queue_depth(aws_url: str, queue_url: str) -> int:
    sqs = _client(aws_url, "sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in _QUEUE_COUNTS)


def wait_for_nik_checks(aws_url: str, accepted: int, timeout_s: float, poll_s: float = 1.0) -> float:
    """Until as many NIK checks have finished as were accepted, or the timeout; the seconds waited.

    Polls the NIK queue (cheap) and scans the table only once the queue has stayed empty for a
    moment (a scan of a few thousand items holds the local AWS for seconds)."""
    port = int(aws_url.rsplit(":", 1)[1])
    queue_url = local_resource_names(aws_port=port, region=_region())["NikQueue"]["url"]
    started = time.monotonic()
    deadline = started + timeout_s
    empty_since: float | None = None
    while True:
        now = time.monotonic()
        empty_since = (empty_since or now) if _queue_depth(aws_url, queue_url) == 0 else None
        if (empty_since is not None and now - empty_since >= 2 * poll_s) or now >= deadline:
            statuses = _nik_statuses(_scan(aws_url))
            finished = sum(n for status, n in statuses.items() if status in _FINISHED)
            if finished >= accepted or now >= deadline:
                print(f"NIK checks finished: {finished}/{accepted}", flush=True)
                return time.monotonic() - started
            empty_since = None
        time.sleep(poll_s)


def reconcile(aws_url: str, *plans: Plan) -> Reconciliation:
    """What the plans' journeys were answered against what the table holds (every plan of the run:
    the warm-up's registrant is stored too)."""
    registered = set().union(*(p.registered for p in plans))
    nik_accepted = set().union(*(p.nik_accepted for p in plans))
    items = _scan(aws_url)
    registrations = {item["pk"]["S"].removeprefix("REG#") for item in items if item["pk"]["S"].startswith("REG#")}
    prefixes = Counter(item["pk"]["S"].split("#", 1)[0] for item in items)
    statuses = _nik_statuses(items)
    return Reconciliation(
        answered_201=len(registered),
        stored_registrations=prefixes["REG"],
        unknown_stored=len(registrations - registered),
        missing=len(registered - registrations),
        email_claims=prefixes["EMAIL"],
        nik_accepted=len(nik_accepted),
        nik_submitted_stored=sum(n for status, n in statuses.items() if status != "NONE"),
        nik_claims=prefixes["NIK"],
        nik_status=dict(statuses),
    )
