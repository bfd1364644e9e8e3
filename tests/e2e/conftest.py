"""End-to-end fixtures: the real local stack (`python -m infra.local`) on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.launcher import LocalStack
from tests.e2e.client import Api
from tests.e2e.people import write_fixture


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    fixture = write_fixture(tmp_path_factory.mktemp("registry") / "people.jsonl")
    s = LocalStack({
        "PRAKERJA_REGISTRY_FIXTURE": str(fixture),
        "PRAKERJA_REGISTRY_LATENCY_MS": "0",
        # Shorter waits than production so the fault tests finish in CI time.
        "BREAKER_COOLDOWN_S": "3",
        "NIK_BACKOFF_BASE_S": "1",
        "NIK_BACKOFF_CAP_S": "4",
        "REGISTRY_TIMEOUT_S": "1",
        "PRAKERJA_LOCAL_REGISTRY_TIMEOUT_S": "1",
        "PRAKERJA_LOCAL_POWERTOOLS_LOG_LEVEL": "WARNING",
    })
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Api:
    return Api(stack.url)
