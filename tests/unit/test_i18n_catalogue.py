"""The Indonesian catalogue (src/prakerja/http/indonesian.py) covers everything a person can be shown.

These tests fail when a new problem slug, a new or reworded English detail / field message, or
a pydantic error our request models can now produce has no Indonesian translation. The fix is an
entry in http/indonesian.py (its docstring says how); never a change here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticKnownError

import prakerja
from prakerja.domain import errors
from prakerja.domain.errors import DomainError
from prakerja.http import i18n, indonesian, problems, schemas

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "src" / "prakerja").rglob("*.py"), *(ROOT / "functions").glob("*/app.py")])
SLOT = "\x00"  # a run-time part of a message (f-string expression, concatenated value)
SAMPLE = "7"


def _import_everything() -> None:
    for module in pkgutil.walk_packages(prakerja.__path__, "prakerja."):
        importlib.import_module(module.name)


def error_types() -> list[type[DomainError]]:
    _import_everything()  # subclasses defined anywhere in the package (http/problems.py has one)
    found: list[type[DomainError]] = []
    pending = [DomainError]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


# -- slugs -------------------------------------------------------------------------------------------
def test_every_problem_slug_has_an_indonesian_title() -> None:
    slugs = set(problems.STATUS_AND_TITLE) | {t.slug for t in error_types()} | {"internal-error"}
    slugs.discard(DomainError.slug)  # the abstract base; never raised as such
    missing = sorted(s for s in slugs if not indonesian.TITLES_ID.get(s))
    assert not missing, f"add Indonesian titles to http/indonesian.py TITLES_ID for: {missing}"


# -- texts the code can raise ------------------------------------------------------------------------
@dataclass(frozen=True)
class Raised:
    where: str
    template: str  # English with SLOT where a run-time value goes

    @property
    def sample(self) -> str:
        return self.template.replace(SLOT, SAMPLE)


def _variants(node: ast.expr | None, scope: ast.AST | None) -> list[str]:
    """The texts an expression can be, run-time parts as SLOT; [] when it is no literal text."""
    if node is None:
        return []
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, ast.JoinedStr):
        text = ""
        for part in node.values:
            text += part.value if isinstance(part, ast.Constant) else SLOT
        return [text]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _variants(node.left, scope) or [SLOT]
        right = _variants(node.right, scope) or [SLOT]
        out = [a + b for a in left for b in right]
        return [] if all(text.replace(SLOT, "") == "" for text in out) else out
    if isinstance(node, ast.IfExp):
        return _variants(node.body, scope) + _variants(node.orelse, scope)
    if isinstance(node, ast.Name) and scope is not None:
        return _assigned(node.id, scope)
    return []


def _assigned(name: str, scope: ast.AST) -> list[str]:
    """What a local text variable can hold: each assignment, each `+=` applied on top of it."""
    found: list[str] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            found += _variants(node.value, scope)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            found += [base + extra for base in found for extra in (_variants(node.value, scope) or [SLOT])]
    return found


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


def _scopes(tree: ast.AST) -> Iterator[tuple[ast.AST, ast.Call]]:
    """(innermost enclosing function or module, call) for every call."""

    def visit(node: ast.AST, scope: ast.AST) -> Iterator[tuple[ast.AST, ast.Call]]:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else scope
            if isinstance(child, ast.Call):
                yield inner, child
            yield from visit(child, inner)

    yield from visit(tree, tree)


def _validator_functions() -> dict[Path, set[str]]:
    """Files and function names whose `ValueError` messages reach a person through pydantic:
    all of http/schemas.py, and the prakerja functions it imports."""
    schemas_path = ROOT / "src" / "prakerja" / "http" / "schemas.py"
    found: dict[Path, set[str]] = {schemas_path: {"*"}}
    for node in ast.walk(ast.parse(schemas_path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prakerja."):
            path = ROOT / "src" / Path(*str(node.module).split(".")).with_suffix(".py")
            found.setdefault(path, set()).update(alias.name for alias in node.names)
    return found


def raised_texts() -> list[Raised]:
    error_names = {t.__name__: t for t in error_types()}
    validators = _validator_functions()
    out: list[Raised] = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), filename=str(path))
        rel = path.relative_to(ROOT)
        for scope, call in _scopes(tree):
            name = _call_name(call)
            if name in error_names:
                # the detail's position in the error's own signature (ValidationFailed(errors, detail),
                # DependencyBusy(dependency, detail), most others (detail, ...))
                parameters = list(inspect.signature(error_names[name].__init__).parameters)[1:]
                arg = _argument(call, parameters.index("detail") if "detail" in parameters else 0, "detail")
            elif name == "FieldProblem":
                arg = _argument(call, 1, "message")
            elif name == "ValueError" and path in validators:
                allowed = validators[path]
                in_scope = getattr(scope, "name", None)
                if "*" not in allowed and in_scope not in allowed:
                    continue
                arg = _argument(call, 0, "")
            else:
                continue
            for text in _variants(arg, scope):
                out.append(Raised(f"{rel}:{call.lineno}", text))
    for error_type in error_names.values():  # default details, e.g. Unauthorized()
        default = inspect.signature(error_type.__init__).parameters.get("detail")
        if default is not None and isinstance(default.default, str) and default.default:
            out.append(Raised(f"{error_type.__module__}.{error_type.__name__}", default.default))
    return out


def test_the_scan_finds_the_texts_it_is_meant_to_find() -> None:
    """Guards the scanner itself: known literal, f-string, concatenated and `+=` messages."""
    texts = {r.template for r in raised_texts()}
    assert "No registration with this id." in texts  # raise errors.NotFound("...")
    assert f"Wait {SLOT} s before asking for a new code." in texts  # an f-string
    assert f"Missing: {SLOT}." in texts  # "..." + " and ".join(...) + "."
    assert "must be an Indonesian mobile number starting with 08, 628 or +628" in texts  # ValueError in schemas
    assert "is required: enter the 16 digits of your NIK" in texts  # FieldProblem(field, "...")
    assert any(t.endswith("check the gender)") for t in texts)  # message += (...)
    assert "A valid bearer token is required." in texts  # a default detail
    assert len(texts) > 60


def test_every_text_the_code_can_raise_has_an_indonesian_translation() -> None:
    missing = sorted(
        {
            f"{r.where}: {r.template.replace(SLOT, '{...}')!r}"
            for r in raised_texts()
            if i18n.translate(r.sample, "id") is None
        }
    )
    hint = "add these to http/indonesian.py MESSAGES_ID ({name} for each run-time part):\n"
    assert not missing, hint + "\n".join(missing)


# -- the catalogue itself ----------------------------------------------------------------------------
PLACEHOLDER = re.compile(r"{(\w+)}")


@pytest.mark.parametrize(
    ("english", "indonesian"), [*indonesian.MESSAGES_ID.items(), *indonesian.PYDANTIC_ID.values()], ids=lambda s: s[:40]
)
def test_each_entry_is_translated_and_uses_only_its_own_parameters(english: str, indonesian: str) -> None:
    assert indonesian.strip() and indonesian != english
    assert set(PLACEHOLDER.findall(indonesian)) <= set(PLACEHOLDER.findall(english))
    # a template of (almost) only parameters would "translate" anything
    assert len(PLACEHOLDER.sub("", english).strip()) >= 8


def test_english_is_never_the_indonesian_answer() -> None:
    english_words = re.compile(r"\b(the|must|is|are|should|please|your|not|with)\b", re.IGNORECASE)
    for text in [*indonesian.TITLES_ID.values(), *indonesian.MESSAGES_ID.values(), *indonesian.FRAGMENTS_ID.values()]:
        assert not english_words.search(text), text
    for _, text in indonesian.PYDANTIC_ID.values():
        assert not english_words.search(text), text


@pytest.mark.parametrize("error_type", sorted(indonesian.PYDANTIC_ID))
def test_the_pydantic_templates_are_those_of_the_installed_pydantic(error_type: str) -> None:
    english, _ = indonesian.PYDANTIC_ID[error_type]
    samples: dict[str, Any] = {"field_type": "List", "class_name": "X", "expected": "'x'", "pattern": "x"}
    context = {name: samples.get(name, 1) for name in PLACEHOLDER.findall(english) if name != "expected_plural"}
    assert PydanticKnownError(error_type, context or None).message_template == english


# -- pydantic's built-in errors on our request models ---------------------------------------------
def request_models() -> list[type[BaseModel]]:
    return [
        m
        for m in vars(schemas).values()
        if inspect.isclass(m) and issubclass(m, BaseModel) and m.__module__ == schemas.__name__ and m.model_fields
    ]


BAD_VALUES: list[Any] = [None, 12345, 1.5, True, "", " ", "x", "x" * 5000, [], ["x"], {}, {"x": 1}, "12345678"]


def pydantic_messages(model: type[BaseModel]) -> Iterator[tuple[str, str]]:
    """(field, message) of every error pydantic raises for bad values of each field (the others
    missing) and for an unknown field, as problems.from_pydantic words them."""
    bodies: list[dict[str, Any]] = [{}, {"not_a_field": 1}]
    for name in model.model_fields:
        bodies += [{name: value} for value in BAD_VALUES]
    hints = typing.get_type_hints(model)
    for name in model.model_fields:  # nested models: bad values one level down
        nested = hints.get(name)
        if inspect.isclass(nested) and issubclass(nested, BaseModel):
            bodies += [{name: {inner: value}} for inner in nested.model_fields for value in BAD_VALUES]
            bodies.append({name: {"not_a_field": 1}})
    for body in bodies:
        try:
            model.model_validate(body)
        except ValidationError as exc:
            for problem in problems.from_pydantic(exc).errors:
                yield problem.field, problem.message


@pytest.mark.parametrize("model", request_models(), ids=lambda m: m.__name__)
def test_every_validation_message_of_a_request_model_has_an_indonesian_translation(model: type[BaseModel]) -> None:
    seen = dict(pydantic_messages(model))
    assert seen, "the model should refuse these bodies"
    missing = sorted({f"{field}: {msg!r}" for field, msg in seen.items() if i18n.translate(msg, "id") is None})
    assert not missing, (
        f"add to http/indonesian.py (MESSAGES_ID, or PYDANTIC_ID for a pydantic built-in) for {model.__name__}:\n"
        + "\n".join(missing)
    )


def test_the_model_scan_produces_the_built_in_errors_it_is_meant_to_cover() -> None:
    messages = {m for model in request_models() for _, m in pydantic_messages(model)}
    for english, _ in (indonesian.PYDANTIC_ID[t] for t in ("missing", "extra_forbidden", "string_type")):
        assert english in messages
    assert any(m.startswith("String should have at most") for m in messages)
    assert any(m.startswith("Input should be 'M' or 'F'") for m in messages)


def test_a_registration_with_no_steps_done_is_told_the_steps_in_indonesian() -> None:
    """The steps arrive as a parameter (FRAGMENTS_ID): the detail as join_batch words it."""
    from prakerja.domain.batch import missing_steps
    from prakerja.domain.models import Registration

    reg = Registration("r" * 32, "budi@example.com", "hash", "Budi", "+6281234567890", created_at=0)
    detail = "Missing: " + " and ".join(missing_steps(reg)) + "."
    assert (
        i18n.translate(detail, "id") == "Langkah yang belum selesai: NIK belum terverifikasi dan foto belum diterima."
    )


def test_not_eligible_is_raised_with_its_indonesian_steps() -> None:
    _, english, _ = problems.from_domain(errors.NotEligible("Missing: photo not accepted."))
    body = problems.localise(english, "id")
    assert body["detail"] == "Langkah yang belum selesai: foto belum diterima."


@pytest.mark.parametrize(
    ("nik", "birth", "gender"),
    [
        ("", "1990-01-01", "M"),
        ("3201 0101 9000 0001", "1990-01-01", "M"),
        ("32010101900a0001", "1990-01-01", "M"),
        ("320101019000\u0660001", "1990-01-01", "M"),  # an Arabic-Indic zero
        ("32010101900", "1990-01-01", "M"),
        ("9901010101900001", "1990-01-01", "M"),  # no such province
        ("3299010101900001", "1990-01-01", "M"),  # no such regency in 32
        ("3201014101900001", "1990-01-01", "M"),  # the woman's form of the birth digits
        ("3201010202900001", "1990-01-01", "F"),  # simply wrong birth digits
        ("3201010101900000", "1990-01-01", "M"),  # serial 0000
        ("3201010101900001", "2999-01-01", "M"),  # born in the future
        ("3201010101900001", "1800-01-01", "M"),  # before the earliest date
    ],
)
def test_every_nik_problem_is_told_in_indonesian(nik: str, birth: str, gender: Any) -> None:
    import datetime as dt

    from prakerja.domain.nik import check_nik_structure

    found = check_nik_structure(nik, dt.date.fromisoformat(birth), gender, today=dt.date(2026, 11, 28))
    assert found
    for problem in found:
        translated = i18n.translate(problem.message, "id")
        assert translated is not None, problem.message
        assert not any(english in translated for english in indonesian.FRAGMENTS_ID), translated
        assert not re.search(r"\b(digits|must|is|are|the|not|for|were|given)\b", translated), translated
