"""Contract fixtures: a local stack of its own for the schemathesis run (started only when an
e2e contract test asks for it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.launcher import LocalStack
from tests.e2e.client import Api
from tests.e2e.conftest import started_stack


@pytest.fixture(scope="session")
def contract_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    s = started_stack(tmp_path_factory.mktemp("contract-registry"))
    yield s
    s.stop()


@pytest.fixture(scope="session")
def contract_api(contract_stack: LocalStack) -> Api:
    return Api(contract_stack.url)
