"""The local population-registry stand-in, over real loopback HTTP (in a thread, or as the
`python -m infra.registry` subprocess the local stack starts)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from infra.registry import ConfigError, RegistryStandIn, config_from_env, default_fixture_path, load_fixture

ROOT = Path(__file__).resolve().parents[1]
BUDI = {"nik": "3273052107900001", "full_name": "Budi Santoso", "birth_date": "1990-07-21", "gender": "M"}
DEWI = {"nik": "3578116902000003", "full_name": "Dewi Anggraini", "birth_date": "2000-02-29", "gender": "F"}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 5.0
) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


@pytest.fixture
def standin() -> Iterator[RegistryStandIn]:
    service = RegistryStandIn(
        load_fixture(default_fixture_path()), port=0, timeout_hold_s=10.0, rng=random.Random(2020)
    )
    with service:
        yield service


def verify(service: RegistryStandIn, body: Any, **kw: Any) -> tuple[int, dict[str, str], Any]:
    return call(service.url, "POST", "/v1/nik/verify", body, **kw)


# -- verdicts -------------------------------------------------------------------------------------
def test_health(standin: RegistryStandIn) -> None:
    assert call(standin.url, "GET", "/health")[0::2] == (200, {"status": "ok"})


def test_known_person_matches(standin: RegistryStandIn) -> None:
    assert verify(standin, BUDI)[0::2] == (200, {"result": "MATCH"})


@pytest.mark.parametrize("name", ["budi santoso", "  BUDI   Santoso ", "Budi\tSantoso", "bUdI sAnToSo"])
def test_name_matching_ignores_case_and_whitespace(standin: RegistryStandIn, name: str) -> None:
    assert verify(standin, {**BUDI, "full_name": name})[2] == {"result": "MATCH"}


def test_stored_name_with_double_spaces_matches_a_single_spaced_query(standin: RegistryStandIn) -> None:
    # "Dewi  Anggraini" is stored with two spaces
    assert verify(standin, DEWI)[2] == {"result": "MATCH"}


def test_mismatch_names_the_fields_that_differ(standin: RegistryStandIn) -> None:
    assert verify(standin, {**BUDI, "full_name": "Budi Santosa"})[2] == {"result": "MISMATCH", "fields": ["full_name"]}
    status, _, body = verify(standin, {**BUDI, "birth_date": "1990-07-22", "gender": "F"})
    assert (status, body) == (200, {"result": "MISMATCH", "fields": ["birth_date", "gender"]})


def test_unknown_nik_is_not_found(standin: RegistryStandIn) -> None:
    assert verify(standin, {**BUDI, "nik": "3273052107900002"})[2] == {"result": "NOT_FOUND"}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        [1, 2],
        {**BUDI, "nik": "123"},
        {**BUDI, "birth_date": "1990-02-30"},
        {**BUDI, "gender": "X"},
        {k: v for k, v in BUDI.items() if k != "full_name"},
        {**BUDI, "full_name": "   "},
    ],
)
def test_malformed_requests_get_400(standin: RegistryStandIn, body: Any) -> None:
    status, _, answer = verify(standin, body)
    assert status == 400 and "error" in answer


def test_unknown_path_is_404(standin: RegistryStandIn) -> None:
    assert call(standin.url, "GET", "/nope")[0] == 404


def test_api_key_is_required_when_configured() -> None:
    with RegistryStandIn(load_fixture(default_fixture_path()), port=0, api_key="s3cret") as service:
        assert verify(service, BUDI)[0] == 401
        assert verify(service, BUDI, headers={"X-Api-Key": "wrong"})[0] == 401
        assert verify(service, BUDI, headers={"X-Api-Key": "s3cret"})[2] == {"result": "MATCH"}


# -- faults and admin ---------------------------------------------------------------------------
def test_admin_config_changes_faults_at_runtime(standin: RegistryStandIn) -> None:
    assert call(standin.url, "GET", "/_admin/config")[2] == {"failure_rate": 0.0, "latency_ms": 0.0}
    status, _, body = call(standin.url, "PUT", "/_admin/config", {"latency_ms": 250})
    assert (status, body) == (200, {"failure_rate": 0.0, "latency_ms": 250.0})
    started = time.monotonic()
    assert verify(standin, BUDI)[2] == {"result": "MATCH"}
    assert time.monotonic() - started >= 0.25


@pytest.mark.parametrize(
    "body",
    [{"failure_rate": 1.5}, {"failure_rate": "x"}, {"latency_ms": -1}, {"other": 1}, {}, [1], {"failure_rate": True}],
)
def test_admin_config_rejects_invalid_values(standin: RegistryStandIn, body: Any) -> None:
    assert call(standin.url, "PUT", "/_admin/config", body)[0] == 400
    assert call(standin.url, "GET", "/_admin/config")[2] == {"failure_rate": 0.0, "latency_ms": 0.0}


def test_failure_rate_one_gives_503s_with_retry_after_and_hangs(standin: RegistryStandIn) -> None:
    # Given every call fails, When called many times with a short client timeout
    call(standin.url, "PUT", "/_admin/config", {"failure_rate": 1.0})
    outcomes = []
    for _ in range(12):
        started = time.monotonic()
        try:
            status, headers, _ = verify(standin, BUDI, timeout=0.3)
            outcomes.append(("status", status, headers.get("Retry-After")))
        except (TimeoutError, urllib.error.URLError):
            outcomes.append(("timeout", None, None))
        assert time.monotonic() - started < 2.0
    # Then each is a 503 with Retry-After: 1, or a hang the client gave up on; no verdict ever
    kinds = {o[0] for o in outcomes}
    assert kinds == {"status", "timeout"}  # both kinds occur (seeded fault injection)
    assert all(o == ("status", 503, "1") for o in outcomes if o[0] == "status")
    stats = call(standin.url, "GET", "/_admin/stats")[2]
    assert stats["calls"] == 12 and stats["failures"] == 12


def _held_handler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "process_request_thread" in t.name and t.is_alive()]


def test_stopping_wakes_calls_held_in_a_simulated_timeout() -> None:
    # Given calls the stand-in holds for 30 s (simulated timeouts) after their clients gave up
    service = RegistryStandIn(
        load_fixture(default_fixture_path()), port=0, failure_rate=1.0, timeout_hold_s=30.0
    ).start()
    call(service.url, "PUT", "/_admin/config", {"failure_rate": 1.0})

    def attempt() -> None:
        with contextlib.suppress(TimeoutError, urllib.error.URLError):
            verify(service, BUDI, timeout=0.2)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: attempt(), range(6)))
    # When it stops, Then it does so at once and no handler thread stays behind
    started = time.monotonic()
    service.stop()
    assert time.monotonic() - started < 3.0
    deadline = time.monotonic() + 3.0
    while _held_handler_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _held_handler_threads() == []


def test_stats_count_calls_per_second_and_reset(standin: RegistryStandIn) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: verify(standin, BUDI), range(16)))
    stats = call(standin.url, "GET", "/_admin/stats")[2]
    assert stats["calls"] == 16 and stats["failures"] == 0
    assert sum(stats["calls_per_second"].values()) == 16
    assert stats["max_calls_in_one_second"] == max(stats["calls_per_second"].values())
    assert stats["max_calls_in_one_second"] >= 8
    call(standin.url, "GET", "/health")  # admin and health calls are not counted
    assert call(standin.url, "GET", "/_admin/stats")[2]["calls"] == 16
    reset = call(standin.url, "POST", "/_admin/stats/reset")[2]
    assert reset == {"calls": 0, "failures": 0, "max_calls_in_one_second": 0, "calls_per_second": {}}


# -- configuration and fixture -----------------------------------------------------------------
def test_default_fixture_has_about_fifty_people() -> None:
    people = load_fixture(default_fixture_path())
    assert 45 <= len(people) <= 60


def test_fixture_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "people.jsonl"
    bad.write_text(json.dumps(BUDI) + "\n\n" + json.dumps({**BUDI, "gender": "X"}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 3: gender"):
        load_fixture(bad)
    bad.write_text(json.dumps(BUDI) + "\n" + json.dumps(BUDI) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2: duplicate"):
        load_fixture(bad)


def test_custom_fixture_file(tmp_path: Path) -> None:
    custom = tmp_path / "one.jsonl"
    custom.write_text(json.dumps({**BUDI, "nik": "3171010101900001"}) + "\n", encoding="utf-8")
    with RegistryStandIn(load_fixture(custom), port=0) as service:
        assert verify(service, BUDI)[2] == {"result": "NOT_FOUND"}
        assert verify(service, {**BUDI, "nik": "3171010101900001"})[2] == {"result": "MATCH"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PRAKERJA_REGISTRY_FAILURE_RATE": "abc"}, "PRAKERJA_REGISTRY_FAILURE_RATE must be a number between 0 and 1"),
        ({"PRAKERJA_REGISTRY_FAILURE_RATE": "1.01"}, "PRAKERJA_REGISTRY_FAILURE_RATE"),
        ({"PRAKERJA_REGISTRY_FAILURE_RATE": "nan"}, "PRAKERJA_REGISTRY_FAILURE_RATE"),
        ({"PRAKERJA_REGISTRY_LATENCY_MS": "-5"}, "PRAKERJA_REGISTRY_LATENCY_MS"),
        ({"PRAKERJA_REGISTRY_PORT": "http"}, "PRAKERJA_REGISTRY_PORT must be a port number"),
        ({"PRAKERJA_REGISTRY_PORT": "70000"}, "PRAKERJA_REGISTRY_PORT"),
        ({"PRAKERJA_REGISTRY_FIXTURE": "/nonexistent/people.jsonl"}, "PRAKERJA_REGISTRY_FIXTURE"),
    ],
)
def test_invalid_environment_is_explained(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_env(env)


def test_environment_defaults() -> None:
    config = config_from_env({})
    assert (config.port, config.fixture, config.failure_rate, config.latency_ms, config.api_key) == (
        3100,
        None,
        0.0,
        0.0,
        None,
    )


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKERJA_REGISTRY_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def test_module_exits_with_a_clear_message_on_invalid_settings() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "infra.registry"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_subprocess_env(PRAKERJA_REGISTRY_FAILURE_RATE="lots"),
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "PRAKERJA_REGISTRY_FAILURE_RATE must be a number between 0 and 1" in done.stderr


def test_module_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.registry"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_subprocess_env(PRAKERJA_REGISTRY_PORT="0", PRAKERJA_REGISTRY_LATENCY_MS="10"),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "registry stand-in listening on http://127.0.0.1:PORT (...)"
        assert "listening on http://127.0.0.1:" in line, line
        base = line.split("listening on ", 1)[1].split(" ", 1)[0]
        assert call(base, "GET", "/health")[2] == {"status": "ok"}
        assert call(base, "POST", "/v1/nik/verify", BUDI)[2] == {"result": "MATCH"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_generator_reproduces_the_committed_fixture() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "infra.registry", "generate-fixture"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_subprocess_env(),
        timeout=30,
        check=True,
    )
    assert done.stdout == default_fixture_path().read_text(encoding="utf-8")
