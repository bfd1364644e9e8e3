"""The client's own rules, run in Chromium: the NIK checks of web/js/nik.js agree with the
server's (src/prakerja/domain/nik.py) on thousands of NIKs, and photos are prepared to the
API's limits (<= 2 MiB, >= 300x300, never upscaled)."""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path
from typing import Any

import pytest

from prakerja.domain.nik import check_nik_structure, provinces
from tests.browser.conftest import DESKTOP
from tests.e2e.people import make_person

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def page(browser: Any, app_url: str) -> Any:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(app_url)
    page.locator('section[data-screen="register"]').wait_for()
    yield page
    context.close()


def category(message: str) -> str:
    for prefix, name in (
        ("digits 1-2", "province"),
        ("digits 3-4", "regency"),
        ("digits 7-12", "birth"),
        ("digits 13-16", "serial"),
    ):
        if message.startswith(prefix):
            return name
    return "shape"


JS_CATEGORY = {
    "province": "province",
    "regency": "regency",
    "birth-digits": "birth",
    "birth-digits-gender": "birth",
    "birth-digits-invalid": "birth",
    "serial": "serial",
}


def nik_cases() -> list[dict[str, str]]:
    rng = random.Random(11)
    codes = sorted(provinces())
    cases = []
    for i in range(1, 301):
        person = make_person(i)
        cases.append(person)
        nik = person["nik"]
        pos = rng.randrange(16)
        typo = nik[:pos] + str((int(nik[pos]) + rng.randrange(1, 10)) % 10) + nik[pos + 1 :]
        cases.append({**person, "nik": typo})
        cases.append({**person, "gender": "M" if person["gender"] == "F" else "F"})
        cases.append({**person, "nik": nik[:12] + "0000"})
        cases.append({**person, "nik": rng.choice(codes) + f"{rng.randrange(100):02d}" + nik[4:]})
        cases.append({**person, "nik": f"{rng.randrange(100):02d}" + nik[2:]})
    return cases


def test_nik_rules_agree_with_the_server(page: Any) -> None:
    cases = nik_cases()
    js = page.evaluate(
        """async (cases) => {
          const m = await import('./js/nik.js');
          const regions = await m.loadRegions();
          return cases.map((c) => m.checkNik(c.nik, {birthDate: c.birth_date, gender: c.gender, regions})
            .problems.map((p) => p.code));
        }""",
        cases,
    )
    disagreements = []
    for case, js_codes in zip(cases, js, strict=True):
        server = check_nik_structure(
            case["nik"], dt.date.fromisoformat(case["birth_date"]), case["gender"], today=dt.date(2026, 11, 28)
        )
        server_categories = {category(p.message) for p in server if p.field == "nik"}
        client_categories = {JS_CATEGORY.get(code, "shape") for code in js_codes}
        if server_categories != client_categories:
            disagreements.append((case, sorted(server_categories), sorted(client_categories)))
    accepted = sum(1 for codes in js if not codes)
    assert not disagreements, disagreements[:5]
    assert 300 <= accepted < len(cases)  # both kinds were exercised


def test_nik_feedback_names_the_wrong_digits(page: Any) -> None:
    result = page.evaluate(
        """async () => {
          const m = await import('./js/nik.js');
          const regions = await m.loadRegions();
          // Siti, born 1995-03-05, a woman: digits 7-12 are 450395.
          return {
            woman: m.checkNik('3171024503950002', {birthDate: '1995-03-05', gender: 'F', regions}).problems,
            asMan: m.checkNik('3171024503950002', {birthDate: '1995-03-05', gender: 'M', regions}).problems,
            typo: m.checkNik('3171024503960002', {birthDate: '1995-03-05', gender: 'F', regions}).problems,
            partial: m.checkNik('99', {regions}).problems,
            letter: m.checkNik('3171O2', {regions}).problems,
          };
        }"""
    )
    assert result["woman"] == []
    assert [p["code"] for p in result["asMan"]] == ["birth-digits-gender"]
    assert result["asMan"][0]["params"]["expected"] == "050395"
    assert result["typo"][0]["positions"] == [12]  # exactly the digit that is wrong
    assert result["partial"][0]["code"] == "province" and result["partial"][0]["positions"] == [1, 2]
    assert result["letter"][0] == {"code": "not-digit", "positions": [5], "params": {"position": 5}}


def test_every_text_exists_in_both_languages(page: Any) -> None:
    missing = page.evaluate(
        """async () => {
          const { STRINGS_FOR_TESTS: s } = await import('./js/i18n.js');
          const id = Object.keys(s.id), en = Object.keys(s.en);
          return {onlyId: id.filter((k) => !(k in s.en)), onlyEn: en.filter((k) => !(k in s.id)), count: id.length};
        }"""
    )
    assert missing["onlyId"] == [] and missing["onlyEn"] == [] and missing["count"] > 100
    used = set()
    for file in ("web/index.html", "web/js/app.js"):
        text = (Path(__file__).resolve().parents[2] / file).read_text(encoding="utf-8")
        used |= set(re.findall(r'(?:data-i18n="|t\(")([a-zA-Z]+\.[\w.-]+)"', text))
    keys = page.evaluate("async () => Object.keys((await import('./js/i18n.js')).STRINGS_FOR_TESTS.id)")
    assert used and not (used - set(keys)), sorted(used - set(keys))


def prepare(page: Any, width: int, height: int, kind: str = "noise") -> Any:
    return page.evaluate(
        """async ([w, h, kind]) => {
          const m = await import('./js/photo.js');
          const canvas = document.createElement('canvas');
          canvas.width = w; canvas.height = h;
          const ctx = canvas.getContext('2d');
          if (kind === 'noise') {
            const img = ctx.createImageData(w, h);
            let x = 12345;
            for (let i = 0; i < img.data.length; i++) {
              x = (x * 1103515245 + 12345) >>> 0;
              img.data[i] = (x >>> 16) & 255;
            }
            for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
            ctx.putImageData(img, 0, 0);
          } else { ctx.fillStyle = '#3a7'; ctx.fillRect(0, 0, w, h); }
          const blob = await new Promise((r) => canvas.toBlob(r, 'image/png'));
          try {
            const out = await m.preparePhoto(new File([blob], 'x.png', {type: 'image/png'}));
            return {size: out.blob.size, type: out.blob.type, width: out.width, height: out.height, input: blob.size};
          } catch (err) { return {error: err.code, params: err.params}; }
        }""",
        [width, height, kind],
    )


def test_photo_is_made_small_enough_without_upscaling(page: Any) -> None:
    big = prepare(page, 2400, 1800)  # noisy, like a real photo: a PNG of several MB
    assert big["input"] > 2 * 1024 * 1024
    assert big["type"] == "image/jpeg" and big["size"] <= 2 * 1024 * 1024
    assert (big["width"], big["height"]) == (1600, 1200)
    narrow = prepare(page, 4000, 320, "flat")  # the short side never drops below 300
    assert narrow["height"] >= 300 and narrow["width"] <= 4000
    exact = prepare(page, 300, 300, "flat")
    assert (exact["width"], exact["height"]) == (300, 300)
    small = prepare(page, 299, 500, "flat")
    assert small == {"error": "too-small", "params": {"width": 299, "height": 500}}
