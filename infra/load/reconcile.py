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
from infra.local.names import DEFAULT_REGION, physical_name

TABLE = physical_name("RegistrationsTable")
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


def _client(aws_url: str) -> Any:
    import boto3

    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION
    return boto3.session.Session().client(  # type: ignore[call-overload]
        "dynamodb",
        region_name=region,
        endpoint_url=aws_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any key
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
    return Counter(
        item.get("nik_status", {}).get("S", "NONE") for item in items if item["pk"]["S"].startswith("REG#")
    )


def wait_for_nik_checks(aws_url: str, accepted: int, timeout_s: float, poll_s: float = 2.0) -> None:
    """Until as many NIK checks have finished as were accepted, or the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        statuses = _nik_statuses(_scan(aws_url))
        finished = sum(n for status, n in statuses.items() if status in _FINISHED)
        if finished >= accepted or time.monotonic() >= deadline:
            print(f"NIK checks finished: {finished}/{accepted}", flush=True)
            return
        time.sleep(poll_s)


def reconcile(aws_url: str, plan: Plan) -> Reconciliation:
    items = _scan(aws_url)
    registrations = {
        item["pk"]["S"].removeprefix("REG#") for item in items if item["pk"]["S"].startswith("REG#")
    }
    prefixes = Counter(item["pk"]["S"].split("#", 1)[0] for item in items)
    statuses = _nik_statuses(items)
    return Reconciliation(
        answered_201=len(plan.registered),
        stored_registrations=prefixes["REG"],
        unknown_stored=len(registrations - plan.registered),
        missing=len(plan.registered - registrations),
        email_claims=prefixes["EMAIL"],
        nik_accepted=len(plan.nik_accepted),
        nik_submitted_stored=sum(n for status, n in statuses.items() if status != "NONE"),
        nik_claims=prefixes["NIK"],
        nik_status=dict(statuses),
    )
