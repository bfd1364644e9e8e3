"""`python -m infra.registry` — run the population-registry stand-in on 127.0.0.1.

Settings (environment): PRAKERJA_REGISTRY_PORT (default 3100; 0 = any free port),
PRAKERJA_REGISTRY_FIXTURE (JSON Lines; default: the shipped default_fixture.jsonl),
PRAKERJA_REGISTRY_FAILURE_RATE (0..1), PRAKERJA_REGISTRY_LATENCY_MS (>= 0),
PRAKERJA_REGISTRY_API_KEY (when set, X-Api-Key must match), PRAKERJA_REGISTRY_VERBOSE
(log request lines). Invalid settings: exit status 2 with a message saying which.

`python -m infra.registry generate-fixture` prints the default fixture (deterministic)
to stdout; the committed default_fixture.jsonl is its output.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import sys
import threading
from types import FrameType

from infra.registry.server import ConfigError, build_from_config, config_from_env

# Real Kemendagri (province, regency/city) codes: (code, place) for a spread of regions,
# including a new Papua province (93 Papua Selatan) and a pre-2022 Papua code (91.01).
PLACES = [
    ("3171", "Jakarta Pusat"),
    ("3174", "Jakarta Selatan"),
    ("3273", "Kota Bandung"),
    ("3201", "Kab. Bogor"),
    ("3374", "Kota Semarang"),
    ("3471", "Kota Yogyakarta"),
    ("3578", "Kota Surabaya"),
    ("3507", "Kab. Malang"),
    ("3603", "Kab. Tangerang"),
    ("1271", "Kota Medan"),
    ("1371", "Kota Padang"),
    ("1671", "Kota Palembang"),
    ("1101", "Kab. Aceh Selatan"),
    ("5171", "Kota Denpasar"),
    ("5271", "Kota Mataram"),
    ("5371", "Kota Kupang"),
    ("6171", "Kota Pontianak"),
    ("6472", "Kota Samarinda"),
    ("6571", "Kota Tarakan"),
    ("7371", "Kota Makassar"),
    ("7171", "Kota Manado"),
    ("8171", "Kota Ambon"),
    ("9171", "Kota Jayapura"),
    ("9301", "Kab. Merauke"),
    ("9601", "Kab. Sorong"),
    ("9101", "Kab. Merauke, pre-2022 code"),
]

FIRST_M = [
    "Budi",
    "Agus",
    "Joko",
    "Slamet",
    "Made",
    "Wayan",
    "Rizky",
    "Andi",
    "Hendra",
    "Yusuf",
    "Bambang",
    "Teguh",
    "Dedi",
    "Fajar",
    "Ilham",
    "Kadek",
    "Arief",
    "Ketut",
]
FIRST_F = [
    "Siti",
    "Dewi",
    "Sri",
    "Putri",
    "Ayu",
    "Nur",
    "Rina",
    "Wulan",
    "Fitri",
    "Intan",
    "Lestari",
    "Ratna",
    "Kartika",
    "Maya",
    "Indah",
    "Nyoman",
    "Yuni",
    "Dian",
]
LAST = [
    "Santoso",
    "Wijaya",
    "Saputra",
    "Hidayat",
    "Lestari",
    "Pratama",
    "Kusuma",
    "Nugroho",
    "Siregar",
    "Nasution",
    "Simanjuntak",
    "Gunawan",
    "Harahap",
    "Setiawan",
    "Rahmawati",
    "Sembiring",
    "Tanjung",
    "Purba",
    "O'Neil",
    "Sari-Dewi",
]

# Hand-picked records first (documented in README.md), then generated ones.
SPECIAL = [
    # nik parts: place, district, birth date, gender, serial, name as stored
    ("3273", "05", dt.date(1990, 7, 21), "M", "0001", "Budi Santoso"),
    ("3171", "02", dt.date(1995, 3, 5), "F", "0002", "Siti Rahmawati"),  # woman born on the 5th: day 45
    ("3578", "11", dt.date(2000, 2, 29), "F", "0003", "Dewi  Anggraini"),  # 29 Feb (leap), double space
    ("5171", "03", dt.date(1996, 2, 29), "M", "0004", "i Made WIRAWAN"),  # 29 Feb, mixed case
    ("9301", "01", dt.date(1988, 12, 31), "M", "0005", "Yohanes Mahuze"),  # Papua Selatan (new province 93)
    ("9101", "01", dt.date(1979, 1, 1), "F", "0006", "Maria   Kaize"),  # pre-2022 Papua code, triple space
    ("3374", "07", dt.date(2003, 10, 15), "F", "0007", "Putri Ayu Kusuma"),
    ("1271", "09", dt.date(1985, 6, 30), "M", "0008", "Hendra Siregar"),
]


def _nik(place: str, district: str, birth: dt.date, gender: str, serial: str) -> str:
    day = birth.day + (40 if gender == "F" else 0)
    return f"{place}{district}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial}"


def generate_fixture(count: int = 50, seed: int = 20200411) -> list[dict[str, str]]:
    rng = random.Random(seed)  # nosec B311 # synthetic test data, not security
    people: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(nik: str, name: str, birth: dt.date, gender: str) -> None:
        if nik in seen:
            return
        seen.add(nik)
        people.append({"nik": nik, "full_name": name, "birth_date": birth.isoformat(), "gender": gender})

    for place, district, birth, gender, serial, name in SPECIAL:
        add(_nik(place, district, birth, gender, serial), name, birth, gender)
    start, span = dt.date(1960, 1, 1), (dt.date(2005, 12, 31) - dt.date(1960, 1, 1)).days
    while len(people) < count:
        gender = rng.choice("MF")
        first = rng.choice(FIRST_F if gender == "F" else FIRST_M)
        name = f"{first} {rng.choice(LAST)}"
        style = rng.random()
        if style < 0.15:
            name = name.upper()
        elif style < 0.25:
            name = name.replace(" ", "  ")
        elif style < 0.3:
            name = name.lower()
        birth = start + dt.timedelta(days=rng.randrange(span + 1))
        place = rng.choice(PLACES)[0]
        district = f"{rng.randint(1, 20):02d}"
        serial = f"{rng.randint(1, 9999):04d}"
        add(_nik(place, district, birth, gender, serial), name, birth, gender)
    return people


def _generate() -> int:
    for person in generate_fixture():
        sys.stdout.write(json.dumps(person, ensure_ascii=False) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["generate-fixture"]:
        return _generate()
    if args:
        sys.stderr.write("usage: python -m infra.registry [generate-fixture]\n")
        return 2
    try:
        service = build_from_config(config_from_env(os.environ))
    except ConfigError as exc:
        sys.stderr.write(f"registry stand-in: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"registry stand-in: cannot listen on 127.0.0.1: {exc.strerror or exc}\n")
        return 2

    def _stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=service.stop, daemon=True).start()  # shutdown() must not run on the serving thread

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    faults = service.faults
    print(
        f"registry stand-in listening on {service.url} ({len(service.records)} records, "
        f"failure_rate={faults.failure_rate}, latency_ms={faults.latency_ms:g}, "
        f"api_key={'on' if service.api_key else 'off'})",
        flush=True,
    )
    service.serve_forever()
    service.stopping.set()
    service.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
