"""NIK (Nomor Induk Kependudukan) structural rules, checked before any registry call.

A NIK is 16 ASCII digits:

    PP RR DD  DDMMYY  SSSS
    |  |  |   |       `- 13-16 serial within that district and birth date (never 0000)
    |  |  |   `--------- 7-12 birth date; 40 is added to the day for women (21 -> 61)
    |  |  `------------- 5-6  district (kecamatan)
    |  `---------------- 3-4  regency/city (kabupaten/kota) within the province
    `------------------- 1-2  province (Kemendagri code)

Century: YY alone cannot tell 1920 from 2020, so the rule compares DDMMYY only (a birth
date of 2001-02-03 and one of 1901-02-03 both give 030201). The birth date itself must be
plausible: not in the future, not before 1900.

Messages are written for a person fixing a typo: they name the digit positions and show
short digit groups, but never the whole NIK. `mask_nik` is the only form of a NIK that may
be stored or shown outside the encrypted record.

Pure: stdlib only, no I/O besides reading the packaged region list once.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Literal

from prakerja.domain.errors import FieldProblem

NIK_LENGTH = 16
WOMAN_DAY_OFFSET = 40
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
# "Today" for the future-birth-date rule, in the easternmost Indonesian time zone (WIT,
# UTC+9), so a date that is already today anywhere in Indonesia is never "in the future".
_INDONESIA_EAST = dt.timezone(dt.timedelta(hours=9))
_ASCII_DIGITS = frozenset("0123456789")


class RegistryVerdict(StrEnum):
    """What the population registry says about a (NIK, name, birth date, gender) tuple."""

    MATCH = "MATCH"
    MISMATCH = "MISMATCH"
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True)
class RegistryAnswer:
    """A verdict with detail: for MISMATCH, which fields did not match (may be empty)."""

    verdict: RegistryVerdict
    mismatched_fields: tuple[str, ...] = ()


class RegistryUnavailable(Exception):  # noqa: N818 - a domain name, not a programming error
    """The registry could not give a verdict this time (timeout, connection error, HTTP 429
    or 5xx, malformed answer, rejected credentials). Never a verdict about the person:
    callers retry later. `retry_after_s` comes from a Retry-After header when there was one.
    Deliberately not a DomainError: it must never be mapped to a client error."""

    def __init__(self, reason: str, *, retry_after_s: float | None = None, status: int | None = None) -> None:
        super().__init__(f"population registry unavailable: {reason}")
        self.reason = reason
        self.retry_after_s = retry_after_s
        self.status = status


# -- region codes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Province:
    code: str
    name: str
    regencies: frozenset[str]  # current and former codes (empty: no regency data shipped)


@lru_cache(maxsize=1)
def provinces() -> dict[str, Province]:
    """Kemendagri province codes with their regency/city codes, loaded once from package data."""
    raw = resources.files("prakerja.domain.data").joinpath("regions.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    return {
        code: Province(
            code=code,
            name=str(entry["name"]),
            regencies=frozenset(entry.get("regencies", [])) | frozenset(entry.get("former_regencies", [])),
        )
        for code, entry in data["provinces"].items()
    }


# -- rules ----------------------------------------------------------------------------------------
def is_nik_shaped(nik: str) -> bool:
    """Exactly 16 ASCII digits (str.isdigit alone would accept Arabic-Indic and other digits)."""
    return len(nik) == NIK_LENGTH and all(ch in _ASCII_DIGITS for ch in nik)


def expected_birth_digits(birth_date: dt.date, gender: str) -> str:
    """Digits 7-12 of the NIK for this birth date and gender: DDMMYY, DD + 40 for women."""
    day = birth_date.day + (WOMAN_DAY_OFFSET if gender == "F" else 0)
    return f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"


def _shape_error(nik: str) -> FieldProblem:
    if nik == "":
        return FieldProblem("nik", "is required: enter the 16 digits of your NIK")
    if any(ch.isspace() or ch in "-." for ch in nik):
        return FieldProblem("nik", "must be the 16 digits only, without spaces, dots or dashes")
    for position, ch in enumerate(nik, start=1):
        if ch not in _ASCII_DIGITS:
            kind = "a digit from another script" if ch.isdigit() else "a character that is not a digit"
            return FieldProblem("nik", f"must contain only the digits 0-9; position {position} is {kind}")
    return FieldProblem("nik", f"must be exactly {NIK_LENGTH} digits; {len(nik)} were given")


def _birth_date_errors(birth_date: dt.date, today: dt.date) -> list[FieldProblem]:
    if birth_date > today:
        return [FieldProblem("birth_date", f"{birth_date.isoformat()} is in the future")]
    if birth_date < EARLIEST_BIRTH_DATE:
        return [FieldProblem("birth_date", f"{birth_date.isoformat()} is before {EARLIEST_BIRTH_DATE.isoformat()}")]
    return []


def _birth_digits_error(nik: str, birth_date: dt.date, gender: str) -> FieldProblem | None:
    actual = nik[6:12]
    expected = expected_birth_digits(birth_date, gender)
    if actual == expected:
        return None
    message = (
        f"digits 7-12 ({actual}) do not match birth date {birth_date.isoformat()} "
        f"for gender {gender}: expected {expected}"
    )
    other = "M" if gender == "F" else "F"
    if actual == expected_birth_digits(birth_date, other):
        message += (
            f" (these digits are the form for gender {other}: 40 is added to the day "
            "of birth for women only; check the gender)"
        )
    return FieldProblem("nik", message)


def check_nik_structure(
    nik: str,
    birth_date: dt.date,
    gender: Literal["M", "F"],
    *,
    today: dt.date | None = None,
) -> list[FieldProblem]:
    """All structural problems of this NIK submission; an empty list means it may go to the
    registry. `today` defaults to the current date in Indonesia (UTC+9)."""
    today = today or dt.datetime.now(_INDONESIA_EAST).date()
    problems: list[FieldProblem] = []

    gender_ok = gender in ("M", "F")
    if not gender_ok:
        problems.append(FieldProblem("gender", "must be M or F"))
    date_problems = _birth_date_errors(birth_date, today)
    problems.extend(date_problems)

    if not is_nik_shaped(nik):
        problems.insert(0, _shape_error(nik))
        return problems

    nik_problems: list[FieldProblem] = []
    regions = provinces()
    province = regions.get(nik[0:2])
    if province is None:
        nik_problems.append(FieldProblem("nik", f"digits 1-2 ({nik[0:2]}) are not an Indonesian province code"))
    elif province.regencies and nik[2:4] not in province.regencies:
        nik_problems.append(
            FieldProblem(
                "nik",
                f"digits 3-4 ({nik[2:4]}) are not a regency/city code of province {province.code} ({province.name})",
            )
        )
    if gender_ok and not date_problems:
        mismatch = _birth_digits_error(nik, birth_date, gender)
        if mismatch is not None:
            nik_problems.append(mismatch)
    if nik[12:16] == "0000":
        nik_problems.append(FieldProblem("nik", "digits 13-16 (the serial number) cannot be 0000"))
    return nik_problems + problems


def mask_nik(nik: str) -> str:
    """Safe display/storage form: province + regency (first 4 digits) and the last 2 digits
    are kept, the 10 digits in between (district, birth date, most of the serial) become `*`.
    e.g. 3201**********01. Anything that is not NIK-shaped masks entirely."""
    if not is_nik_shaped(nik):
        return "*" * NIK_LENGTH
    return nik[:4] + "*" * (NIK_LENGTH - 6) + nik[-2:]
