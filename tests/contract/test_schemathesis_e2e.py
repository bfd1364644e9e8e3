"""schemathesis against the running local stack, from docs/openapi.json: generated requests (valid
and invalid) on every operation, anonymous and with a real person's token and id. Every response
must be documented: status code, content type, headers, body schema; and none may be >= 500.

Bounded: EXAMPLES per operation and generation mode plus short stateful sequences (about 1,150
requests in all, ~1 minute). derandomize: the same cases every run, so a failure reproduces."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (  # type: ignore[attr-defined]  # registered checks (module __getattr__)
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.openapi import DOCUMENT
from tests.e2e.client import Api

pytestmark = pytest.mark.e2e

EXAMPLES = 60
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SCHEMA = schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text(encoding="utf-8")))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
STATUSES: Counter[int] = Counter()


@pytest.fixture
def person(contract_api: Api) -> tuple[str, str]:
    """(registration id, bearer token) of a verified person, new for each operation (one run may
    sign the person out or submit their NIK): the token is sent with half the cases, and on the
    routes with an {id} half the cases use this person's id."""
    _, rid, token = contract_api.verified_person()
    return rid, token


# Invalid data only where there is a body to make invalid (a path id or a header can be any string).
RUNS = [(op, GenerationMode.POSITIVE) for op in OPERATIONS] + [
    (op, GenerationMode.NEGATIVE) for op in OPERATIONS if op.body
]


@pytest.mark.parametrize(("operation", "mode"), RUNS, ids=lambda v: getattr(v, "label", None) or v.value)
def test_every_response_is_documented_and_none_is_a_server_error(
    contract_api: Api, person: tuple[str, str], operation: Any, mode: GenerationMode
):
    rid, token = person
    has_id = "{id}" in operation.path

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode), own_id=st.booleans(), with_token=st.booleans())
    def run(case: Any, own_id: bool, with_token: bool) -> None:
        if has_id and own_id:
            case.path_parameters = {**(case.path_parameters or {}), "id": rid}
        headers = {"Authorization": f"Bearer {token}"} if with_token else None
        response = case.call_and_validate(base_url=contract_api.base, headers=headers, checks=CHECKS)
        STATUSES[response.status_code] += 1

    run()


def test_stateful_sequences_follow_the_links(contract_api: Api, person: tuple[str, str]):
    """Stateful: register (or sign in) and then use the returned id on the registration's other
    operations (the document's links), with the same checks; bounded number of short sequences."""
    _, token = person
    base = SCHEMA.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": contract_api.base, "headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            STATUSES[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

    Machine.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )


def test_report_statuses():
    """Prints what the run answered (figures, no assertion beyond having run)."""
    print("schemathesis responses by status:", dict(sorted(STATUSES.items())), "total", sum(STATUSES.values()))
