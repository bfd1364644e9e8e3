"""End-to-end fixtures: the real local stack (`python -m infra.local`) on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.launcher import LocalStack
from tests.e2e.client import Api
from tests.e2e.people import write_fixture


def started_stack(fixture_dir: Path, **timings: str) -> LocalStack:
    """A local stack on free ports with synthetic registry people and shorter fault timings than
    production, so the fault tests finish in CI time."""
    env = {
        "PRAKERJA_REGISTRY_FIXTURE": str(write_fixture(fixture_dir / "people.jsonl")),
        "PRAKERJA_REGISTRY_LATENCY_MS": "0",
        "BREAKER_COOLDOWN_S": "3",
        "NIK_BACKOFF_BASE_S": "1",
        "NIK_BACKOFF_CAP_S": "4",
        "PRAKERJA_LOCAL_REGISTRY_TIMEOUT_S": "1",
        "PRAKERJA_LOCAL_POWERTOOLS_LOG_LEVEL": "WARNING",
        # the local AWS (one moto process, one request at a time) is slower than AWS under the suite's
        # bursts: a longer SDK read timeout than the deployed 2 s, so slowness is not read as overload
        "PRAKERJA_LOCAL_AWS_READ_TIMEOUT_S": "5",
        # the suite fires far more requests from 127.0.0.1 than a client may (the WAF's per-address
        # rules): the limits have their own stack in test_limits_e2e.py
        "PRAKERJA_LOCAL_LIMITS": "off",
        **timings,
    }
    stack = LocalStack(env)
    stack.start()
    return stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    s = started_stack(tmp_path_factory.mktemp("registry"))
    yield s
    s.stop()


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Api:
    return Api(stack.url)
