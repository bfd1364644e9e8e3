"""The API's languages: `Accept-Language` negotiation, and the translation of problem bodies.

Used only by the HTTP layer (http/api.py negotiates, http/problems.py localises problem bodies).
Domain errors stay English: a slug plus an English detail. The Indonesian catalogue
(http/indonesian.py, which says how to add a translation) is keyed like gettext, by that English
text, so domain code needs no message ids and the English answer is unchanged. The catalogue is
imported by the first answer in Indonesian: a function that only answers in English never loads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

EN = "en"
ID = "id"
DEFAULT_LANGUAGE = EN
SUPPORTED = (EN, ID)
# Primary language subtags that mean Indonesian: `id`, and `in` (the code withdrawn in 1989 that
# old Java/Android locales still send, e.g. `in-ID`).
_ALIASES = {"en": EN, "id": ID, "in": ID}

# Python reprs pydantic puts in its messages (literal_error), as the JSON a client sends.
_JSON_LITERALS = {"True": "true", "False": "false", "None": "null"}
_LIST_JOINERS = ((" and ", " dan "), (" or ", " atau "))
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")
_PLACEHOLDER = re.compile(r"{(\w+)}")


# -- negotiation ------------------------------------------------------------------------------------
_MAX_HEADER_CHARS = 4096
_MAX_RANGES = 64
_RANGE = re.compile(r"^(?:\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*)$")
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


def negotiate(accept_language: str | None) -> str:
    """The response language for an `Accept-Language` value (RFC 9110 12.5.4): the supported
    language with the highest q-value (`id-ID` counts for `id`; `*` for the languages no other
    range names; q=0 means "not this one"); ties go to the range listed first. Missing, empty,
    unparsable or unsupported -> English. Never raises."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    try:
        return _negotiate(accept_language)
    except Exception:  # a header is client input: no value of it may fail a request
        return DEFAULT_LANGUAGE


def _negotiate(header: str) -> str:
    named: dict[str, tuple[float, int]] = {}  # language -> (q, position of its first range)
    wildcard: tuple[float, int] | None = None
    for position, (language_range, q) in enumerate(_ranges(header)):
        if language_range == "*":
            if wildcard is None:
                wildcard = (q, position)
            continue
        language = _ALIASES.get(language_range.split("-", 1)[0])
        if language is None:
            continue
        seen = named.get(language)
        # id-ID;q=0.2, id;q=0.9: the best q among the ranges naming a language counts
        if seen is None or q > seen[0]:
            named[language] = (q, seen[1] if seen else position)
    best, best_key = DEFAULT_LANGUAGE, (0.0, 0)
    for language in SUPPORTED:
        q, position = named.get(language) or wildcard or (0.0, 0)
        key = (q, -position)
        if q > 0 and key > best_key:
            best, best_key = language, key
    return best


def _ranges(header: str) -> Iterable[tuple[str, float]]:
    """(language range, q) of each well-formed element, malformed ones skipped."""
    for element in header[:_MAX_HEADER_CHARS].split(",")[:_MAX_RANGES]:
        language_range, *params = (part.strip() for part in element.split(";"))
        language_range = language_range.lower().replace("_", "-")
        if not _RANGE.match(language_range):
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                q = float(value) if _QVALUE.match(value) else -1.0
        if q >= 0:
            yield language_range, q


# -- translation ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Template:
    pattern: re.Pattern[str]
    target: str
    literal_chars: int


def _compile(english: str, target: str) -> _Template:
    parts = _PLACEHOLDER.split(english)  # literal, name, literal, name, ..., literal
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*?)" for i, part in enumerate(parts))
    literal = sum(len(part) for i, part in enumerate(parts) if i % 2 == 0)
    return _Template(re.compile(regex, re.DOTALL), target, literal)


@lru_cache(maxsize=1)
def _catalogue() -> tuple[dict[str, str], list[_Template]]:
    """(exact texts, parameterised templates most specific first), built on first use."""
    from prakerja.http.indonesian import MESSAGES_ID, PYDANTIC_ID

    exact: dict[str, str] = {}
    templates: list[_Template] = []
    entries = [*MESSAGES_ID.items(), *PYDANTIC_ID.values()]
    for english, indonesian in entries:
        if _PLACEHOLDER.search(english):
            templates.append(_compile(english, indonesian))
        else:
            exact[english] = indonesian
    templates.sort(key=lambda t: -t.literal_chars)
    return exact, templates


def translate(text: str, language: str) -> str | None:
    """`text` (an English detail or field message) in `language`; None when the catalogue has
    no entry for it. English text is returned as it is."""
    if language == EN:
        return text
    if language != ID:
        return None
    exact, templates = _catalogue()
    found = exact.get(text)
    if found is not None:
        return found
    for template in templates:
        match = template.pattern.fullmatch(text)
        if match is not None:
            return _fill(template.target, {name: _parameter(value) for name, value in match.groupdict().items()})
    return None


def _fill(target: str, params: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), target)


def _parameter(value: str) -> str:
    """A parameter as Indonesian shows it: known phrases and lists of them translated, Python
    literals as JSON, thousands grouped with dots; anything else (codes, dates, names) as it is."""
    from prakerja.http.indonesian import FRAGMENTS_ID

    if value in FRAGMENTS_ID:
        return FRAGMENTS_ID[value]
    if value in _JSON_LITERALS:
        return _JSON_LITERALS[value]
    if _THOUSANDS.match(value):
        return value.replace(",", ".")
    if _is_quoted(value):
        return _JSON_LITERALS.get(value[1:-1], value)
    for english, indonesian in _LIST_JOINERS:
        items = value.split(english)
        # only a list of known phrases or quoted values ("'M' or 'F'"), never free text such as a name
        if len(items) > 1 and all(item in FRAGMENTS_ID or _is_quoted(item) for item in items):
            return indonesian.join(_parameter(item) for item in items)
    return value


def _is_quoted(value: str) -> bool:
    return len(value) >= 2 and value[0] == value[-1] == "'" and "'" not in value[1:-1]


def title(slug: str, english: str, language: str) -> str | None:
    """The title of problem `slug` in `language` (None: no translation)."""
    if language == EN:
        return english
    if language != ID:
        return None
    from prakerja.http.indonesian import TITLES_ID

    return TITLES_ID.get(slug)


@dataclass(frozen=True)
class Localised:
    body: dict[str, Any]
    untranslated: tuple[str, ...]  # what had no translation (slugs / "detail" / field names; never values)


def localise_problem(body: Mapping[str, Any], language: str) -> Localised:
    """A problem body (built in English by http/problems.py) with its `title`, `detail` and each
    `errors[].message` in `language`. `type`, `status` and every other member stay as they are.
    A text without a translation falls back to a generic Indonesian one (the catalogue test
    keeps that from happening for anything the code can raise)."""
    out = dict(body)
    if language == EN:
        return Localised(out, ())
    from prakerja.http.indonesian import FALLBACK_MESSAGE_ID, FALLBACK_TITLE_ID

    missing: list[str] = []
    slug = str(body.get("type", ""))
    english_title = str(body.get("title", ""))
    new_title = title(slug, english_title, language)
    if new_title is None:
        missing.append(f"title:{slug}")
        new_title = FALLBACK_TITLE_ID
    out["title"] = new_title

    field_errors = body.get("errors")
    if isinstance(field_errors, list) and all(isinstance(e, Mapping) for e in field_errors):
        english_joined = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in field_errors)
        translated = []
        for e in field_errors:
            message = translate(str(e.get("message", "")), language)
            if message is None:
                missing.append(f"field:{e.get('field')}")
                message = FALLBACK_MESSAGE_ID
            translated.append({**e, "message": message})
        out["errors"] = translated
        if body.get("detail") == english_joined:  # ValidationFailed's default detail
            out["detail"] = "; ".join(f"{e.get('field')}: {e['message']}" for e in translated)
            return Localised(out, tuple(missing))

    detail = str(body.get("detail", ""))
    if detail == english_title or not detail:
        out["detail"] = new_title
    else:
        new_detail = translate(detail, language)
        if new_detail is None:
            missing.append(f"detail:{slug}")
            new_detail = new_title + "."
        out["detail"] = new_detail
    return Localised(out, tuple(missing))
