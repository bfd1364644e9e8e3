"""Browser tests: Playwright for Python driving Debian's Chromium (`make browser` installs it)
against the real local stack, which serves the web client at /app/.

Artifacts (screenshots of every screen) go to tests/browser/artifacts/ (gitignored). The stack and
the browser live for this package only, so they do not load the machine during the other tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.launcher import LocalStack
from tests.e2e.client import Api
from tests.e2e.conftest import started_stack

CHROMIUM = Path(os.environ.get("PRAKERJA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium with apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    s = started_stack(tmp_path_factory.mktemp("browser-registry"))
    yield s
    s.stop()


@pytest.fixture(scope="package")
def api(stack: LocalStack) -> Api:
    return Api(stack.url)


@pytest.fixture(scope="package")
def app_url(stack: LocalStack) -> str:
    return stack.url + "/app/"


@pytest.fixture(scope="package")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
