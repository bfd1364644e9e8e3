"""Synthetic registry people for end-to-end tests (structurally valid NIKs: Jawa Barat / Kab. Bogor)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_counter = itertools.count(1)


def make_person(i: int) -> dict[str, Any]:
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=(i * 37) % 12000)
    gender = "F" if i % 2 else "M"
    day = birth.day + (40 if gender == "F" else 0)
    nik = f"3201{(i % 40) + 1:02d}{day:02d}{birth.month:02d}{birth.year % 100:02d}{i:04d}"
    return {
        "nik": nik,
        "full_name": f"Warga Uji {chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}",
        "birth_date": birth.isoformat(),
        "gender": gender,
    }


def write_fixture(path: Path, count: int = 400) -> Path:
    with path.open("w") as f:
        for i in range(1, count + 1):
            f.write(json.dumps(make_person(i)) + "\n")
    return path


def next_person() -> dict[str, Any]:
    with _lock:
        return make_person(next(_counter))


def unknown_person() -> dict[str, Any]:
    """Structurally valid, but not in the registry fixture."""
    with _lock:
        return make_person(5000 + next(_counter))
