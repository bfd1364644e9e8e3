"""NIK structural rules: what a person typing their NIK sees before any registry call.

Each case: given a NIK with birth date and gender, when checked, then the listed fields are
reported (or nothing), with messages that help fix a typo but never repeat the whole NIK."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from prakerja.domain import nik as nik_rules
from prakerja.domain.errors import FieldProblem
from prakerja.domain.nik import check_nik_structure, expected_birth_digits, mask_nik, provinces

TODAY = dt.date(2026, 1, 1)
ROOT = Path(__file__).resolve().parents[2]


def check(nik: str, birth: dt.date, gender: str) -> list[FieldProblem]:
    return check_nik_structure(nik, birth, gender, today=TODAY)  # type: ignore[arg-type]


def fields(errors: list[FieldProblem]) -> list[str]:
    return [e.field for e in errors]


VALID = [
    pytest.param("3273052107900001", dt.date(1990, 7, 21), "M", id="man-bandung"),
    pytest.param("3171024503950002", dt.date(1995, 3, 5), "F", id="woman-born-5th-day-45"),
    pytest.param("3171024103950002", dt.date(1995, 3, 1), "F", id="woman-born-1st-day-41"),
    pytest.param("3171027103950002", dt.date(1995, 3, 31), "F", id="woman-born-31st-day-71"),
    pytest.param("3578116902000003", dt.date(2000, 2, 29), "F", id="woman-29-feb-leap-2000"),
    pytest.param("5171032902960004", dt.date(1996, 2, 29), "M", id="man-29-feb-leap-1996"),
    pytest.param("3201010302010001", dt.date(2001, 2, 3), "M", id="century-2001"),
    pytest.param("3201010302010001", dt.date(1901, 2, 3), "M", id="century-1901-same-digits"),
    pytest.param("9301013112880005", dt.date(1988, 12, 31), "M", id="new-province-93-papua-selatan"),
    pytest.param("9601010101900001", dt.date(1990, 1, 1), "M", id="new-province-96-papua-barat-daya"),
    pytest.param("9101014101790006", dt.date(1979, 1, 1), "F", id="pre-2022-papua-code-91-01"),
    pytest.param("9201010101900001", dt.date(1990, 1, 1), "M", id="pre-2022-papua-barat-92-01-sorong"),
    pytest.param("6473010101900001", dt.date(1990, 1, 1), "M", id="pre-2012-kaltim-64-73-tarakan"),
    pytest.param("3201010101000001", dt.date(2000, 1, 1), "M", id="born-2000-yy-00"),
    pytest.param("3201010101009999", dt.date(1900, 1, 1), "M", id="earliest-birth-date-serial-9999"),
    pytest.param("3201013112250001", TODAY - dt.timedelta(days=1), "M", id="born-yesterday"),
]


@pytest.mark.parametrize(("nik", "birth", "gender"), VALID)
def test_valid_nik_passes(nik: str, birth: dt.date, gender: str) -> None:
    # Given a NIK consistent with the birth date and gender, When checked, Then no problems
    assert check(nik, birth, gender) == []


INVALID = [
    # (nik, birth, gender, fields reported, a phrase the message must contain)
    pytest.param(
        "3273052207900001",
        dt.date(1990, 7, 21),
        "M",
        ["nik"],
        "digits 7-12 (220790) do not match birth date 1990-07-21 for gender M: expected 210790",
        id="one-digit-typo-in-day",
    ),
    pytest.param("3273052108900001", dt.date(1990, 7, 21), "M", ["nik"], "expected 210790", id="typo-in-month"),
    pytest.param("3273052107910001", dt.date(1990, 7, 21), "M", ["nik"], "expected 210790", id="typo-in-year"),
    pytest.param(
        "3273056107900001", dt.date(1990, 7, 21), "M", ["nik"], "40 is added to the day", id="woman-day-for-a-man"
    ),
    pytest.param("3273052107900001", dt.date(1990, 7, 21), "F", ["nik"], "expected 610790", id="man-day-for-a-woman"),
    pytest.param("3273052107900000", dt.date(1990, 7, 21), "M", ["nik"], "cannot be 0000", id="serial-0000"),
    pytest.param("327305210790000", dt.date(1990, 7, 21), "M", ["nik"], "exactly 16 digits; 15", id="15-digits"),
    pytest.param("32730521079000011", dt.date(1990, 7, 21), "M", ["nik"], "exactly 16 digits; 17", id="17-digits"),
    pytest.param("32730521079O0001", dt.date(1990, 7, 21), "M", ["nik"], "position 12", id="letter-o-for-zero"),
    pytest.param("3273 0521 0790 0001", dt.date(1990, 7, 21), "M", ["nik"], "without spaces", id="spaces"),
    pytest.param("", dt.date(1990, 7, 21), "M", ["nik"], "required", id="empty"),
    pytest.param("٣٢٧٣٠٥٢١٠٧٩٠٠٠٠١", dt.date(1990, 7, 21), "M", ["nik"], "another script", id="arabic-indic-digits"),
    pytest.param(
        "3273052107900001".replace("0", "０"),
        dt.date(1990, 7, 21),
        "M",
        ["nik"],
        "another script",
        id="fullwidth-digits",
    ),
    pytest.param("9973052107900001", dt.date(1990, 7, 21), "M", ["nik"], "digits 1-2 (99)", id="unknown-province"),
    pytest.param(
        "2073052107900001",
        dt.date(1990, 7, 21),
        "M",
        ["nik"],
        "not an Indonesian province",
        id="province-20-does-not-exist",
    ),
    pytest.param(
        "3299052107900001",
        dt.date(1990, 7, 21),
        "M",
        ["nik"],
        "digits 3-4 (99) are not a regency/city code of province 32 (JAWA BARAT)",
        id="unknown-regency",
    ),
    pytest.param("9171010101300001", dt.date(2030, 1, 1), "M", ["birth_date"], "in the future", id="future-birth-date"),
    pytest.param(
        "3201010101990001", dt.date(1899, 1, 1), "M", ["birth_date"], "before 1900-01-01", id="born-before-1900"
    ),
    pytest.param("3201010101990001", dt.date(1999, 1, 1), "X", ["gender"], "M or F", id="bad-gender"),
    pytest.param(
        "3299052107900000",
        dt.date(1990, 7, 22),
        "M",
        ["nik", "nik", "nik"],
        "digits 3-4",
        id="several-problems-all-reported",
    ),
]


@pytest.mark.parametrize(("nik", "birth", "gender", "expected_fields", "phrase"), INVALID)
def test_invalid_nik_is_reported(
    nik: str, birth: dt.date, gender: str, expected_fields: list[str], phrase: str
) -> None:
    # Given a submission with a problem, When checked
    errors = check(nik, birth, gender)
    # Then the right fields are named, with a helpful message
    assert fields(errors) == expected_fields
    assert any(phrase in e.message for e in errors), errors


@pytest.mark.parametrize(("nik", "birth", "gender", "expected_fields", "phrase"), INVALID)
def test_messages_never_contain_the_full_nik(
    nik: str, birth: dt.date, gender: str, expected_fields: list[str], phrase: str
) -> None:
    errors = check(nik, birth, gender)
    digits = "".join(ch for ch in nik if ch.isdigit())
    for error in errors:
        assert nik not in error.message or nik == ""
        if len(digits) >= 12:
            assert digits not in error.message
            assert digits[:12] not in error.message  # not even the first 12 digits in one piece


def test_29_february_of_a_non_leap_year_cannot_even_be_a_birth_date() -> None:
    # Given "1990-02-29", When parsed as the API does, Then it is not a date at all (the
    # request schema rejects it before the NIK rules run)
    with pytest.raises(ValueError):
        dt.date.fromisoformat("1990-02-29")


def test_31_april_is_impossible() -> None:
    with pytest.raises(ValueError):
        dt.date(1990, 4, 31)


def test_day_29_february_must_still_match_the_birth_date() -> None:
    # Given a NIK saying 29-02-00 but a birth date of 28-02-2000, Then the digits do not match
    errors = check("3578116902000003", dt.date(2000, 2, 28), "F")
    assert fields(errors) == ["nik"]
    assert "expected 680200" in errors[0].message


def test_nik_digits_for_a_day_of_a_month_that_never_has_it_are_a_mismatch() -> None:
    # Given digits 31-04 (31 April) against any real birth date, Then a mismatch, never a crash
    errors = check("3273053104900001", dt.date(1990, 4, 30), "M")
    assert "expected 300490" in errors[0].message


def test_future_birth_date_is_judged_in_indonesian_time_by_default() -> None:
    # Given no explicit "today", When the birth date is today in Indonesia, Then it is accepted
    today_in_papua = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
    nik = f"320101{expected_birth_digits(today_in_papua, 'M')}0001"
    assert check_nik_structure(nik, today_in_papua, "M") == []


def test_expected_birth_digits() -> None:
    assert expected_birth_digits(dt.date(1990, 7, 21), "M") == "210790"
    assert expected_birth_digits(dt.date(1990, 7, 5), "F") == "450790"
    assert expected_birth_digits(dt.date(2000, 2, 29), "F") == "690200"


def test_mask_keeps_province_regency_and_last_two_digits() -> None:
    assert mask_nik("3273052107900001") == "3273**********01"
    assert len(mask_nik("3273052107900001")) == 16
    assert mask_nik("not-a-nik") == "*" * 16
    assert mask_nik("٣٢٧٣٠٥٢١٠٧٩٠٠٠٠١") == "*" * 16


def test_region_data_has_all_38_provinces_including_the_new_papua_ones() -> None:
    regions = provinces()
    assert len(regions) == 38
    for code, name in [
        ("91", "PAPUA"),
        ("92", "PAPUA BARAT"),
        ("93", "PAPUA SELATAN"),
        ("94", "PAPUA TENGAH"),
        ("95", "PAPUA PEGUNUNGAN"),
        ("96", "PAPUA BARAT DAYA"),
        ("65", "KALIMANTAN UTARA"),
    ]:
        assert regions[code].name == name
    assert "71" in regions["31"].regencies  # Jakarta Pusat
    assert all(len(c) == 2 and c.isdigit() for p in regions.values() for c in p.regencies)


def test_region_list_is_cached() -> None:
    assert provinces() is provinces()


def test_regency_check_is_skipped_when_a_province_has_no_regency_data(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given region data without regency lists (provinces only), Then any regency digits pass
    only_provinces = {code: nik_rules.Province(code, p.name, frozenset()) for code, p in provinces().items()}
    monkeypatch.setattr(nik_rules, "provinces", lambda: only_provinces)
    assert check("3299052107900001", dt.date(1990, 7, 21), "M") == []
    assert fields(check("9973052107900001", dt.date(1990, 7, 21), "M")) == ["nik"]


def test_every_default_fixture_person_passes_the_rules() -> None:
    # Given the stand-in's shipped fixture, Then every record is structurally valid
    lines = (ROOT / "infra" / "registry" / "default_fixture.jsonl").read_text(encoding="utf-8").splitlines()
    people = [json.loads(line) for line in lines if line.strip()]
    assert len(people) >= 50
    assert {p["gender"] for p in people} == {"M", "F"}
    assert any(p["birth_date"].endswith("-02-29") for p in people)
    for person in people:
        errors = check_nik_structure(person["nik"], dt.date.fromisoformat(person["birth_date"]), person["gender"])
        assert errors == [], (mask_nik(person["nik"]), errors)
