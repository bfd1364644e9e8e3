"""Figures of a load run: per-route latency percentiles and status counts, throughput, the
results table (Markdown) and a PNG of latency and throughput over time."""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sample:
    at: float  # epoch seconds when the request started
    route: str
    ms: float
    status: int  # 0 = no HTTP answer (connection error, timeout)


@dataclass(frozen=True)
class RouteFigures:
    route: str
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500 or status == 0)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def route_figures(samples: Iterable[Sample]) -> list[RouteFigures]:
    by_route: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_route[s.route].append(s)
    figures = []
    for route, group in by_route.items():
        times = [s.ms for s in group]
        figures.append(
            RouteFigures(
                route=route,
                count=len(group),
                p50_ms=percentile(times, 50),
                p99_ms=percentile(times, 99),
                max_ms=max(times),
                statuses=dict(sorted(Counter(s.status for s in group).items())),
            )
        )
    return sorted(figures, key=lambda f: f.route)


def markdown_table(figures: Sequence[RouteFigures]) -> str:
    lines = [
        "| route | requests | p50 ms | p99 ms | max ms | statuses |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for f in figures:
        statuses = ", ".join(f"{status or 'no answer'}: {n}" for status, n in f.statuses.items())
        lines.append(f"| {f.route} | {f.count} | {f.p50_ms:.0f} | {f.p99_ms:.0f} | {f.max_ms:.0f} | {statuses} |")
    return "\n".join(lines)


def write_samples(path: Path, samples: Sequence[Sample]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["at", "route", "ms", "status"])
        for s in samples:
            writer.writerow([f"{s.at:.3f}", s.route, f"{s.ms:.1f}", s.status])


def plot(
    path: Path,
    samples: Sequence[Sample],
    journey_ends: Sequence[float],
    rss: Sequence[tuple[float, int]],
    window_s: float = 5.0,
) -> None:
    """Latency per route (p50 and p99 per window), throughput and the stack's RSS over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not samples:
        return
    start = min(s.at for s in samples)
    windows: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    requests: Counter[int] = Counter()
    for s in samples:
        w = int((s.at - start) // window_s)
        windows[s.route][w].append(s.ms)
        requests[w] += 1
    journeys: Counter[int] = Counter(int((t - start) // window_s) for t in journey_ends)
    panels = 3 if rss else 2
    fig, axes = plt.subplots(panels, 1, figsize=(11, 3.2 * panels), sharex=True)
    latency, throughput = axes[0], axes[1]
    for route, by_window in sorted(windows.items()):
        xs = sorted(by_window)
        line = latency.plot(
            [x * window_s for x in xs], [percentile(by_window[x], 99) for x in xs], label=f"{route} p99"
        )[0]
        latency.plot(
            [x * window_s for x in xs],
            [percentile(by_window[x], 50) for x in xs],
            linestyle=":",
            color=line.get_color(),
        )
    latency.set_ylabel("latency ms (p99 solid, p50 dotted)")
    latency.set_yscale("log")
    latency.legend(fontsize=7, loc="upper left")
    last = max([*requests, *journeys, 0])
    xs = list(range(last + 1))
    throughput.plot([x * window_s for x in xs], [requests[x] / window_s for x in xs], label="requests/s")
    throughput.plot([x * window_s for x in xs], [journeys[x] / window_s for x in xs], label="journeys finished/s")
    throughput.set_ylabel("per second")
    throughput.legend(fontsize=7, loc="upper left")
    if rss:
        axes[2].plot([t - start for t, _ in rss], [b / 2**20 for _, b in rss])
        axes[2].set_ylabel("stack RSS MiB")
    axes[-1].set_xlabel(f"seconds since start ({window_s:.0f} s windows)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary_lines(figures: Sequence[RouteFigures], extra: dict[str, Any]) -> list[str]:
    lines = [markdown_table(figures), ""]
    lines += [f"- {name}: {value}" for name, value in extra.items()]
    return lines
