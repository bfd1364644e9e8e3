"""Per-client limits on the real local stack (limits on, X-Forwarded-For trusted so one test plays
several clients): one address over the WAF rule of the resend route gets 429 problem+json with
Retry-After; another address is not affected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.launcher import LocalStack
from tests.e2e.client import Api
from tests.e2e.templates import stack_from_copy

UNKNOWN = "0" * 32


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    directory: Path = tmp_path_factory.mktemp("limits")
    stack = stack_from_copy(
        directory,
        {  # 20 per window for the email-sending routes (AWS's minimum is 10)
            "  EmailSendRateLimit:\n    Type: Number\n    Default: 100\n": (
                "  EmailSendRateLimit:\n    Type: Number\n    Default: 20\n"
            )
        },
        PRAKERJA_LOCAL_LIMITS="on",
        PRAKERJA_LOCAL_LIMITS_TRUST_XFF="on",
    )
    yield stack
    stack.stop()


def test_one_address_over_the_resend_rule_is_refused_and_others_are_not(limited: LocalStack) -> None:
    api = Api(limited.url)
    path = f"/registrations/{UNKNOWN}/email-verification/resend"

    def resend(ip: str) -> int:
        return api.call("POST", path, json={}, headers={"X-Forwarded-For": ip}).status_code

    answers = [resend("203.0.113.10") for _ in range(20)]
    assert 429 not in answers[:20], answers  # counted, answered by the function (404 unknown id)
    refused = api.call("POST", path, json={}, headers={"X-Forwarded-For": "203.0.113.10"})
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "throttled"
    assert 1 <= int(refused.headers["Retry-After"]) <= 300
    assert resend("203.0.113.11") != 429  # another client
