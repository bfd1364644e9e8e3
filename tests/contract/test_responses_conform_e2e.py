"""Every answer of the whole funnel on the running local stack, success and refusals alike,
validates against what docs/openapi.json documents for its route and status (status documented,
content type, body schema, Retry-After where documented). schemathesis (test_schemathesis_e2e.py)
explores the inputs; this walks the paths it cannot reach by chance (a verified NIK, an accepted
photo, a joined batch)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from infra.launcher import LocalStack
from infra.openapi import DOCUMENT
from tests.e2e.client import Api, create_batch
from tests.e2e.people import make_person
from tests.imagegen import make_jpeg

pytestmark = pytest.mark.e2e

DOC: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
REGISTRY = Registry().with_resource("urn:openapi", Resource.from_contents(DOC, default_specification=DRAFT202012))
SEEN: set[tuple[str, str, int]] = set()


def template_of(method: str, path: str) -> str:
    """The documented path a concrete path matches."""
    for template, ops in DOC["paths"].items():
        if method.lower() in ops and re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path):
            return template
    raise AssertionError(f"{method} {path} is not in the document")


def conforms(r: requests.Response) -> requests.Response:
    method, path = r.request.method or "", requests.utils.urlparse(r.request.url).path
    template = template_of(method, path)
    responses = DOC["paths"][template][method.lower()]["responses"]
    where = f"{method} {template} -> {r.status_code}"
    assert str(r.status_code) in responses, f"undocumented status: {where} {r.text}"
    documented = responses[str(r.status_code)]
    content = documented.get("content")
    if content is None:
        assert not r.content, f"{where}: no body documented"
    else:
        (media_type, spec), *_ = content.items()
        assert r.headers["Content-Type"].split(";")[0] == media_type, where
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **_absolute(spec["schema"])}
        errors = list(Draft202012Validator(schema, registry=REGISTRY).iter_errors(r.json()))
        assert not errors, f"{where}: {[e.message for e in errors]} in {r.text}"
    for name, header in (documented.get("headers") or {}).items():
        if "$ref" in header and name == "Retry-After" and name in r.headers:
            assert r.headers[name].isdigit(), where
    SEEN.add((method, template, r.status_code))
    return r


def _absolute(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: ("urn:openapi" + v if k == "$ref" else _absolute(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_absolute(v) for v in schema]
    return schema


def test_the_whole_funnel_answers_as_documented(contract_api: Api, contract_stack: LocalStack):
    api = contract_api
    c = conforms
    c(api.call("GET", "/health"))
    assert create_batch(contract_stack.aws_port, "contract-1", "Gelombang Kontrak", 5).returncode == 0
    batches = c(api.call("GET", "/batches")).json()["batches"]
    assert any(b["batch_id"] == "contract-1" for b in batches)

    person = api.new_person()
    first = c(api.register(person, **{"Idempotency-Key": "contract-key-1"}))
    assert first.status_code == 201
    rid = first.json()["registration_id"]
    assert c(api.register(person, **{"Idempotency-Key": "contract-key-1"})).json()["registration_id"] == rid
    c(api.register({**person, "phone": "0812345678901"}, **{"Idempotency-Key": "contract-key-1"}))  # 422 reused
    c(api.call("POST", "/registrations", json={"email": "x"}))  # 422 validation
    c(api.call("POST", "/registrations", data="x" * 20_000))  # 413
    c(api.call("POST", "/sessions", json={"email": person["email"], "password": person["password"]}))  # 403
    c(api.call("POST", f"/registrations/{rid}/email-verification/resend"))  # 429 resend-too-soon
    code = api.latest_code(person["email"])
    wrong = "000000" if code != "000000" else "111111"
    mismatch = c(api.call("POST", f"/registrations/{rid}/email-verification", json={"code": wrong}))
    assert mismatch.status_code == 400 and "attempts_left" in mismatch.json()
    verified = c(api.call("POST", f"/registrations/{rid}/email-verification", json={"code": code}))
    assert verified.status_code == 200
    token = verified.json()["access_token"]
    c(api.call("POST", f"/registrations/{rid}/email-verification", json={"code": code}))  # 409 already
    c(api.call("POST", f"/registrations/{'f' * 32}/email-verification", json={"code": code}))  # 404
    c(api.call("POST", f"/registrations/{rid}/email-verification/resend"))  # 409 already verified
    c(api.register(person))  # 409 email-taken
    c(api.call("POST", "/sessions", json={"email": person["email"], "password": "not-the-password"}))  # 401
    assert c(api.call("POST", "/sessions", json={"email": person["email"], "password": person["password"]})).ok

    c(api.call("GET", f"/registrations/{rid}"))  # 401 without a token
    c(api.call("GET", f"/registrations/{rid}", token="forged.token"))  # 401
    c(api.call("GET", f"/registrations/{'a' * 32}", token=token))  # 404: someone else's id
    c(api.call("GET", f"/registrations/{rid}", token=token))
    c(api.call("POST", f"/registrations/{rid}/batch", token=token, json={"batch_id": "contract-1"}))  # 409
    c(api.call("POST", f"/registrations/{rid}/nik", token=token, json={**make_person(3), "nik": "1" * 16}))  # 422
    assert c(api.call("POST", f"/registrations/{rid}/nik", token=token, json=make_person(3))).status_code == 202
    c(api.call("POST", f"/registrations/{rid}/nik", token=token, json=make_person(4)))  # 409 already submitted
    assert api.wait_status(rid, token, "nik_status", {"VERIFIED", "REJECTED"})["nik_status"] == "VERIFIED"

    c(api.call("POST", f"/registrations/{rid}/photo", token=token, json={"content_type": "image/gif"}))  # 422
    post = c(api.call("POST", f"/registrations/{rid}/photo", token=token, json={"content_type": "image/jpeg"})).json()
    files = {"file": ("photo.jpg", make_jpeg(400, 400), "image/jpeg")}
    assert requests.post(post["url"], data=post["fields"], files=files, timeout=30).status_code in (200, 201, 204)
    assert api.wait_status(rid, token, "photo_status", {"ACCEPTED", "REJECTED"})["photo_status"] == "ACCEPTED"

    c(api.call("POST", f"/registrations/{rid}/batch", token=token, json={"batch_id": "no-such-batch"}))  # 404
    assert c(api.call("POST", f"/registrations/{rid}/batch", token=token, json={"batch_id": "contract-1"})).ok
    assert c(api.call("GET", f"/registrations/{rid}", token=token)).json()["status"] == "JOINED"

    # the person's data rights: the export, then the erasure (a wrong password first)
    assert c(api.call("GET", f"/registrations/{rid}/personal-data", token=token)).json()["email"] == person["email"]
    c(api.call("DELETE", f"/registrations/{rid}", token=token, json={"password": "not-the-password"}))  # 401
    assert (
        c(api.call("DELETE", f"/registrations/{rid}", token=token, json={"password": person["password"]})).status_code
        == 204
    )

    # every documented success answer of the walked routes was met
    documented = {
        (m.upper(), p, int(st)) for p, ops in DOC["paths"].items() for m, op in ops.items() for st in op["responses"]
    }
    missing = {t for t in documented if t[2] < 300 and t[1] in WALKED_PATHS} - SEEN
    assert not missing


def test_a_body_off_the_document_is_caught():
    """The validation above is real: an undocumented member or a wrong type fails it."""
    session = {"$ref": "urn:openapi#/components/schemas/Session"}
    good = {"registration_id": "a" * 32, "access_token": "t", "token_type": "Bearer", "expires_in": 60}
    validator = Draft202012Validator(session, registry=REGISTRY)
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "extra": 1})
    assert not validator.is_valid({**good, "expires_in": "60"})


WALKED_PATHS = {
    "/health",
    "/batches",
    "/registrations",
    "/registrations/{id}",
    "/registrations/{id}/email-verification",
    "/sessions",
    "/registrations/{id}/nik",
    "/registrations/{id}/photo",
    "/registrations/{id}/batch",
}
