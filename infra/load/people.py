"""Synthetic registrants for the load test: structurally valid NIKs (Jawa Barat / Kab. Bogor) and
the matching population-registry fixture for the local stand-in."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

PASSWORD = "rahasia-sekali-123"  # noqa: S105  # nosec B105 # synthetic load-test people
MAX_PEOPLE = 9999 * 99  # distinct (kecamatan, serial) pairs


def person(i: int, run_id: str, *, simulator_email: bool = False) -> dict[str, Any]:
    """Registrant number i (1-based) of run `run_id`: registration body + registry record."""
    if not 1 <= i <= MAX_PEOPLE:
        raise ValueError(f"registrant number must be 1..{MAX_PEOPLE}")
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=(i * 37) % 12000)
    gender = "F" if i % 2 else "M"
    day = birth.day + (40 if gender == "F" else 0)
    serial = (i - 1) % 9999 + 1
    kecamatan = (i - 1) // 9999 + 1
    nik = f"3201{kecamatan:02d}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"
    # Against a deployed stage every registration sends a real email: SES's mailbox simulator
    # accepts it without a bounce (a label keeps the addresses distinct).
    email = f"success+{run_id}-{i}@simulator.amazonses.com" if simulator_email else f"load-{run_id}-{i}@example.com"
    name = f"Warga Beban {_letters(i)}"
    return {
        "email": email,
        "password": PASSWORD,
        "full_name": name,
        "phone": f"0812{i:08d}",
        "nik": {"nik": nik, "full_name": name, "birth_date": birth.isoformat(), "gender": gender},
    }


def write_registry_fixture(path: Path, count: int, run_id: str) -> Path:
    """The registry stand-in's records (JSON Lines) for registrants 1..count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for i in range(1, count + 1):
            f.write(json.dumps(person(i, run_id)["nik"]) + "\n")
    return path


def _letters(i: int) -> str:
    out = ""
    while True:
        i, r = divmod(i, 26)
        out += chr(65 + r)
        if i == 0:
            return out
