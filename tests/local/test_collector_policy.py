"""The local stack's collector policy: a full collection never walks the whole long-lived heap again."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from infra.local.memory import CollectorPolicy


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture
def policy() -> Iterator[CollectorPolicy]:
    policy = CollectorPolicy()
    policy.install()
    yield policy
    policy.uninstall()
    gc.unfreeze()


def test_a_full_collection_hands_its_survivors_to_the_permanent_generation(policy: CollectorPolicy) -> None:
    data = [[i] for i in range(20_000)]  # the stack's data (tracked containers), alive for the whole run
    frozen_before = gc.get_freeze_count()
    gc.collect(2)
    assert policy.full_collections == 1
    assert gc.get_freeze_count() >= frozen_before + len(data)  # the next pass skips them
    gc.collect(1)
    assert policy.full_collections == 1  # younger collections leave the frozen set alone
    assert data[-1] == [19_999]


def test_garbage_made_after_a_freeze_is_still_collected(policy: CollectorPolicy) -> None:
    gc.collect(2)
    Node()  # unreachable at once, held only by its own cycle
    assert gc.collect(2) >= 1
