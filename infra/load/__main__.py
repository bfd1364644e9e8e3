"""`make load` = `python -m infra.load`: the funnel under load, headless, with Locust as a library.

Locally (the default) it starts the whole local stack on free loopback ports (infra/launcher.py)
with a registry fixture that knows every synthetic registrant, walks LOAD_USERS registrants through
register -> code from the dev mailbox -> verify -> NIK with LOAD_CONCURRENCY clients at a time,
waits for the NIK checks to finish, then reconciles what the API answered with what the local
DynamoDB holds. With --host it drives a deployed stage with the steps that need no mailbox.

Every setting is a flag with an environment default (LOAD_USERS, LOAD_CONCURRENCY,
LOAD_TIME_LIMIT_S, LOAD_SCRYPT_N, LOAD_STATUS_READS, LOAD_RESULTS, LOAD_HOST). Results (summary.md,
summary.json, samples.csv, plot.png) go to LOAD_RESULTS/<run id>/. Exit status 1 when any answer
was >= 500 (or none came), a journey failed, or the reconciliation does not add up.
"""

from __future__ import annotations

# Locust runs on gevent: patch before anything imports ssl, socket or threading.
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402

from infra.launcher import ROOT, LocalStack  # noqa: E402
from infra.load import report  # noqa: E402
from infra.load.journey import FunnelUser, Plan  # noqa: E402
from infra.load.people import write_registry_fixture  # noqa: E402
from infra.load.reconcile import Reconciliation, reconcile, wait_for_nik_checks  # noqa: E402

PROGRESS_EVERY_S = 5.0
TARGET_P99_MS = 1000.0
TARGET_RSS_BYTES = 2**30


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m infra.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=int(_env("LOAD_USERS", "2000")), help="registrants (LOAD_USERS)")
    p.add_argument(
        "--concurrency", type=int, default=int(_env("LOAD_CONCURRENCY", "32")), help="clients (LOAD_CONCURRENCY)"
    )
    p.add_argument(
        "--spawn-rate",
        type=float,
        default=float(_env("LOAD_SPAWN_RATE", "4")),
        help="clients started per second until all run (LOAD_SPAWN_RATE)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=float(_env("LOAD_TIME_LIMIT_S", "600")),
        help="stop after this many seconds (LOAD_TIME_LIMIT_S)",
    )
    p.add_argument(
        "--scrypt-n",
        type=int,
        default=int(_env("LOAD_SCRYPT_N", "0")),
        help="local only: password scrypt N for the stack (LOAD_SCRYPT_N; 0 = production value)",
    )
    p.add_argument(
        "--status-reads",
        action="store_true",
        default=_env("LOAD_STATUS_READS", "0") == "1",
        help="read the status once after NIK (LOAD_STATUS_READS=1)",
    )
    p.add_argument(
        "--drain",
        type=float,
        default=float(_env("LOAD_DRAIN_S", "180")),
        help="local only: wait this long at most for the NIK checks to finish (LOAD_DRAIN_S)",
    )
    p.add_argument("--results", type=Path, default=Path(_env("LOAD_RESULTS", str(ROOT / "load-results"))))
    p.add_argument(
        "--host",
        default=os.environ.get("LOAD_HOST", "").strip() or None,
        help="a deployed stage URL (LOAD_HOST): register + login only, no mailbox, no reconciliation",
    )
    args = p.parse_args(argv)
    if args.users < 1 or args.concurrency < 1 or args.time_limit <= 0 or args.spawn_rate <= 0:
        p.error("--users, --concurrency, --spawn-rate and --time-limit must be positive")
    return args


class Recorder:
    """Every request's start, route, latency and status, and the stack's RSS over time."""

    def __init__(self) -> None:
        self.samples: list[report.Sample] = []
        self.rss: list[tuple[float, int]] = []

    def on_request(
        self, name: str, response_time: float, response: Any = None, start_time: float | None = None, **_: Any
    ) -> None:
        status = int(getattr(response, "status_code", 0) or 0)
        at = start_time if start_time is not None else time.time() - response_time / 1000
        self.samples.append(report.Sample(at, name, float(response_time), status))

    def sample_rss(self, pid: int) -> None:
        import psutil

        with contextlib.suppress(psutil.Error):
            self.rss.append((time.time(), psutil.Process(pid).memory_info().rss))


def run(args: argparse.Namespace) -> int:
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:4]
    out = args.results / run_id
    out.mkdir(parents=True, exist_ok=True)
    local = args.host is None
    settings: dict[str, Any] = {
        "target": "local stack" if local else args.host,
        "registrants": args.users,
        "concurrency": f"{args.concurrency} clients, started {args.spawn_rate:g}/s",
        "time limit s": args.time_limit,
        "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start",
    }
    plan = Plan(registrants=args.users, run_id=run_id, local=local, status_reads=args.status_reads)
    recorder = Recorder()
    if not local:
        elapsed = _drive(
            args.host.rstrip("/"), plan, args.concurrency, args.time_limit, recorder, None, args.spawn_rate
        )
        return _report(out, settings, plan, recorder, elapsed, None)

    # Registrant users+1 walks the funnel first, outside the figures: the local stack imports each
    # function at its first invocation (its cold start), which is not what this run measures.
    warmup = Plan(registrants=1, run_id=run_id, offset=args.users)
    env = {
        "PRAKERJA_REGISTRY_FIXTURE": str(write_registry_fixture(out / "registry.jsonl", args.users + 1, run_id)),
        "PRAKERJA_LOCAL_POWERTOOLS_LOG_LEVEL": "WARNING",
        # every simulated registrant comes from 127.0.0.1: the per-address WAF rules would measure
        # themselves, not the system (they are tested in tests/local/test_limits.py and e2e)
        "PRAKERJA_LOCAL_LIMITS": "off",
    }
    if args.scrypt_n:
        env["PRAKERJA_LOCAL_PASSWORD_SCRYPT_N"] = str(args.scrypt_n)
    settings["password scrypt N"] = args.scrypt_n or "production (2**15)"
    print(f"starting the local stack (results in {out}) ...", flush=True)
    stack = LocalStack(env)
    stack.start()
    try:
        print("warm-up: one registrant through the funnel ...", flush=True)
        _drive(stack.url, warmup, 1, 120.0, None, None)
        if warmup.outcomes != {"ok": 1}:
            print(f"warm-up journey did not complete: {warmup.outcomes}", flush=True)
        elapsed = _drive(stack.url, plan, args.concurrency, args.time_limit, recorder, stack, args.spawn_rate)
        print("waiting for the NIK checks to finish ...", flush=True)
        accepted = len(plan.nik_accepted) + len(warmup.nik_accepted)
        settings["NIK drain after the load s"] = round(wait_for_nik_checks(stack.aws_url, accepted, args.drain), 1)
        if stack.proc is not None:
            recorder.sample_rss(stack.proc.pid)
        reconciliation = reconcile(stack.aws_url, plan, warmup)
    finally:
        stack.stop()
    return _report(out, settings, plan, recorder, elapsed, reconciliation)


def _drive(
    host: str,
    plan: Plan,
    concurrency: int,
    time_limit: float,
    recorder: Recorder | None,
    stack: LocalStack | None,
    spawn_rate: float | None = None,
) -> float:
    """Run the plan's journeys with `concurrency` Locust users until done or the time limit; seconds taken."""
    from locust.env import Environment

    FunnelUser.plan = plan
    FunnelUser.host = host
    environment = Environment(user_classes=[FunnelUser], host=host)
    if recorder is not None:
        environment.events.request.add_listener(recorder.on_request)
    runner = environment.create_local_runner()
    started = time.time()
    runner.start(concurrency, spawn_rate=spawn_rate or concurrency)
    last_progress = time.time()
    while plan.finished < plan.registrants and time.time() - started < time_limit:
        if plan.started >= plan.registrants and runner.user_count == 0:
            break  # every client stopped (the rest ended without finishing)
        gevent.sleep(1.0)
        if recorder is not None and stack is not None and stack.proc is not None:
            recorder.sample_rss(stack.proc.pid)
        if recorder is not None and time.time() - last_progress >= PROGRESS_EVERY_S:
            last_progress = time.time()
            _progress(plan, recorder, started)
    elapsed = time.time() - started
    runner.quit()
    if recorder is not None:
        _progress(plan, recorder, started)
    return elapsed


def _progress(plan: Plan, recorder: Recorder, started: float) -> None:
    errors = sum(1 for s in recorder.samples if s.status >= 500 or s.status == 0)
    rss = f", stack RSS {recorder.rss[-1][1] / 2**20:.0f} MiB" if recorder.rss else ""
    elapsed = time.time() - started
    print(
        f"[{elapsed:6.0f}s] journeys {plan.finished}/{plan.registrants} done ({plan.failed} failed), "
        f"{len(recorder.samples)} requests, {errors} >= 500{rss}",
        flush=True,
    )


def _report(
    out: Path,
    settings: dict[str, Any],
    plan: Plan,
    recorder: Recorder,
    elapsed: float,
    reconciliation: Reconciliation | None,
) -> int:
    figures = report.route_figures(recorder.samples)
    server_errors = sum(f.server_errors for f in figures)
    peak_rss = max((b for _, b in recorder.rss), default=0)
    ok = plan.outcomes.get("ok", 0)
    extra: dict[str, Any] = {
        **settings,
        "duration s": round(elapsed, 1),
        "journeys finished": f"{plan.finished} ({ok} complete; {dict(sorted(plan.outcomes.items()))})",
        "throughput": f"{ok / elapsed:.1f} complete journeys/s, {len(recorder.samples) / elapsed:.1f} requests/s",
        "answers >= 500 or none": server_errors,
    }
    if plan.code_delivery_s:
        extra["code delivery (201 -> code in the mailbox) p50/p99 s"] = (
            f"{report.percentile(plan.code_delivery_s, 50):.2f} / {report.percentile(plan.code_delivery_s, 99):.2f}"
        )
    if recorder.rss:
        first = recorder.rss[0][1]
        extra["stack RSS MiB (first sample / peak)"] = f"{first / 2**20:.0f} / {peak_rss / 2**20:.0f}"
    if reconciliation is not None:
        extra.update(reconciliation.lines())
    slow = [f.route for f in figures if f.p99_ms >= TARGET_P99_MS]
    extra["targets"] = (
        f"0 answers >= 500: {'yes' if server_errors == 0 else 'NO'}; "
        f"p99 < 1 s per route: {'yes' if not slow else 'NO (' + ', '.join(slow) + ')'}"
        + (f"; RSS < 1 GiB: {'yes' if peak_rss < TARGET_RSS_BYTES else 'NO'}" if recorder.rss else "")
    )
    lines = report.summary_lines(figures, extra)
    text = "\n".join(lines)
    print("\n" + text, flush=True)
    (out / "summary.md").write_text(f"# Load run {out.name}\n\n{text}\n")
    (out / "summary.json").write_text(
        json.dumps(
            {
                "settings": settings,
                "routes": [{**f.__dict__, "statuses": {str(k): v for k, v in f.statuses.items()}} for f in figures],
                "summary": {k: v for k, v in extra.items() if k not in settings},
                "peak_rss_bytes": peak_rss,
                "server_errors": server_errors,
            },
            indent=2,
            default=str,
        )
    )
    report.write_samples(out / "samples.csv", recorder.samples)
    report.plot(out / "plot.png", recorder.samples, plan.journey_ends, recorder.rss)
    print(f"\nresults: {out}/ (summary.md, summary.json, samples.csv, plot.png)", flush=True)
    failed = server_errors > 0 or plan.failed > 0 or plan.finished < plan.registrants
    if reconciliation is not None and not reconciliation.consistent:
        failed = True
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
