"""The load harness (infra/load): its figures, and a small run against a real local stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra.launcher import ROOT
from infra.load import report
from infra.load.people import person, write_registry_fixture


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert report.percentile(values, 50) == 50
    assert report.percentile(values, 99) == 99
    assert report.percentile([7.0], 99) == 7
    assert report.percentile([], 99) == 0


def test_route_figures_count_statuses_and_server_errors_per_route():
    samples = [
        report.Sample(0.0, "POST /registrations", 10, 201),
        report.Sample(0.1, "POST /registrations", 30, 201),
        report.Sample(0.2, "POST /registrations", 20, 503),
        report.Sample(0.3, "POST /registrations", 40, 0),
        report.Sample(0.4, "GET /_dev/mailbox", 5, 200),
    ]
    by_route = {f.route: f for f in report.route_figures(samples)}
    registrations = by_route["POST /registrations"]
    assert registrations.count == 4 and registrations.statuses == {0: 1, 201: 2, 503: 1}
    assert registrations.server_errors == 2  # a 503 and a request that got no answer
    assert registrations.p50_ms == 20 and registrations.max_ms == 40
    assert by_route["GET /_dev/mailbox"].server_errors == 0
    assert "| POST /registrations | 4 |" in report.markdown_table(list(by_route.values()))


def test_registrants_are_distinct_and_the_fixture_knows_their_niks(tmp_path: Path):
    people = [person(i, "run") for i in range(1, 301)]
    assert len({p["email"] for p in people}) == 300
    assert len({p["nik"]["nik"] for p in people}) == 300
    fixture = write_registry_fixture(tmp_path / "people.jsonl", 300, "run")
    records = [json.loads(line) for line in fixture.read_text().splitlines()]
    assert records == [p["nik"] for p in people]
    remote = person(1, "run", simulator_email=True)["email"]
    assert remote.endswith("@simulator.amazonses.com")


def test_a_small_local_load_run_reconciles_and_writes_its_results(tmp_path: Path):
    """`python -m infra.load` end to end: the local stack, 30 registrants through the whole funnel."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.load",
            "--users",
            "30",
            "--concurrency",
            "8",
            "--spawn-rate",
            "8",
            "--scrypt-n",
            "1024",
            "--time-limit",
            "180",
            "--drain",
            "60",
            "--results",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    [run] = list(tmp_path.iterdir())
    summary = json.loads((run / "summary.json").read_text())
    routes = {r["route"]: r for r in summary["routes"]}
    assert routes["POST /registrations"]["statuses"] == {"201": 30}
    assert routes["POST /registrations/{id}/email-verification"]["statuses"] == {"200": 30}
    assert routes["POST /registrations/{id}/nik"]["statuses"] == {"202": 30}
    assert summary["server_errors"] == 0
    assert summary["summary"]["reconciliation"] == "consistent"
    assert summary["summary"]["registrations answered 201 / stored / email claims"].startswith("31 / 31 / 31")
    assert (run / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| POST /registrations/{id}/nik | 30 |" in (run / "summary.md").read_text()
    assert "reconciliation: consistent" in done.stdout
