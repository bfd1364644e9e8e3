"""`prakerja keys rotate` against an in-process moto: the new key signs, the previous one still
verifies, the one before is dropped; the function side (SecretKeySource + KeyRing) follows."""

from __future__ import annotations

import json
import time
from typing import Any

from infra.cli import physical_name
from prakerja.adapters.keyring import SecretKeySource
from prakerja.domain import security
from tests.unit.test_cli import run, session  # noqa: F401 - the fixture

INITIAL = "g" * 64  # what GenerateSecretString left at deploy


def make_secrets(s: Any) -> Any:
    sm = s.client("secretsmanager")
    for logical in ("TokenSigningSecret", "CodeSecret"):
        sm.create_secret(
            Name=physical_name(logical), SecretString=INITIAL if logical == "TokenSigningSecret" else "c" * 64
        )
    return sm


def ring_of(sm: Any, logical: str = "TokenSigningSecret") -> security.KeyRing:
    return security.KeyRing(SecretKeySource(sm, physical_name(logical)))


def test_rotation_keeps_tokens_valid_for_one_more_rotation(session, capsys):  # noqa: F811
    sm = make_secrets(session)
    now = int(time.time())
    before = security.issue_token(ring_of(sm), "rid", now=now, ttl_s=600)
    assert run(session, "keys", "rotate", "--purpose", "token") == 0
    out = capsys.readouterr().out
    assert "previous 0 (still accepted)" in out
    doc = json.loads(sm.get_secret_value(SecretId=physical_name("TokenSigningSecret"))["SecretString"])
    assert doc["previous"] == {"kid": "0", "key": INITIAL}
    assert doc["current"]["kid"] in out and doc["current"]["key"] != INITIAL and len(doc["current"]["key"]) >= 48
    after = ring_of(sm)  # a fresh environment
    assert security.verify_token(after, before, now=now) is not None  # signed before: still accepted
    token = security.issue_token(after, "rid", now=now, ttl_s=600)
    assert security.verify_token(after, token, now=now) is not None
    # the next rotation drops the initial key: tokens signed with it are refused
    assert run(session, "keys", "rotate") == 0
    assert "key 0 is no longer accepted" in capsys.readouterr().out
    latest = ring_of(sm)
    assert security.verify_token(latest, before, now=now) is None
    assert security.verify_token(latest, token, now=now) is not None
    # the code key is untouched by token rotations
    assert sm.get_secret_value(SecretId=physical_name("CodeSecret"))["SecretString"] == "c" * 64


def test_code_rotation_keeps_a_mailed_code_valid(session, capsys):  # noqa: F811
    sm = make_secrets(session)
    mailed = security.verification_code(ring_of(sm, "CodeSecret"), "rid", "nonce")
    assert run(session, "keys", "rotate", "--purpose", "code") == 0
    rotated = ring_of(sm, "CodeSecret")
    assert security.code_matches(rotated, "rid", "nonce", mailed)
    assert security.verification_code(rotated, "rid", "nonce") != mailed or rotated.current.kid != "0"


def test_rotating_a_secret_that_is_no_key_ring_is_a_clear_error(session, capsys):  # noqa: F811
    session.client("secretsmanager").create_secret(Name=physical_name("TokenSigningSecret"), SecretString="short")
    assert run(session, "keys", "rotate") == 1
    assert "does not hold a key ring" in capsys.readouterr().err
