from __future__ import annotations

from prakerja.domain import security

KEY = b"k" * 32


def test_code_is_six_digits_and_changes_with_nonce():
    c1 = security.verification_code(KEY, "r1", "n1")
    c2 = security.verification_code(KEY, "r1", "n2")
    assert len(c1) == 6 and c1.isdigit()
    assert c1 != c2 or security.verification_code(KEY, "r1", "n3") != c1


def test_token_round_trip_expiry_and_tamper():
    token = security.issue_token(KEY, "rid", now=1000, ttl_s=60)
    claims = security.verify_token(KEY, token, now=1030)
    assert claims and claims.registration_id == "rid"
    assert security.verify_token(KEY, token, now=1060) is None
    assert security.verify_token(b"x" * 32, token, now=1030) is None
    head, body, sig = token.split(".")
    assert security.verify_token(KEY, f"{head}.{body}x.{sig}", now=1030) is None
    assert security.verify_token(KEY, "not a token", now=1030) is None


def test_mask_email():
    assert security.mask_email("budi@gmail.com") == "b***@gmail.com"


# -- key rings: kid in the token, two keys valid during a rotation (issue 10) -----------------------
import base64  # noqa: E402
import json  # noqa: E402

import pytest  # noqa: E402

from prakerja.adapters.keyring import dump_ring, parse_ring  # noqa: E402

OLD = security.SigningKey("k-old", b"o" * 32)
NEW = security.SigningKey("k-new", b"n" * 32)


def header_of(token: str) -> dict[str, str]:
    head = token.split(".", maxsplit=1)[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def test_a_token_names_its_signing_key_and_verifies_while_that_key_is_in_the_ring() -> None:
    before = security.KeyRing.of(OLD)
    token = security.issue_token(before, "rid", now=1000, ttl_s=600)
    assert header_of(token) == {"alg": "HS256", "typ": "JWT", "kid": "k-old"}
    rotated = security.KeyRing.of(NEW, OLD)  # current signs, previous still verifies
    claims = security.verify_token(rotated, token, now=1100)
    assert claims is not None and claims.registration_id == "rid"
    assert header_of(security.issue_token(rotated, "rid", now=1100, ttl_s=600))["kid"] == "k-new"
    assert security.verify_token(security.KeyRing.of(NEW), token, now=1100) is None  # previous dropped


def test_a_token_with_a_forged_kid_or_none_is_refused() -> None:
    ring = security.KeyRing.of(NEW, OLD)
    token = security.issue_token(security.KeyRing.of(OLD), "rid", now=1000, ttl_s=600)
    _, body, sig = token.split(".")
    for header in ({"alg": "HS256", "typ": "JWT", "kid": "k-new"}, {"alg": "HS256", "typ": "JWT"}, {"alg": "none"}):
        head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
        assert security.verify_token(ring, f"{head}.{body}.{sig}", now=1100) is None


def test_an_unknown_kid_reloads_the_ring_at_most_once_per_interval() -> None:
    versions = [(OLD,), (NEW, OLD)]
    loads: list[int] = []
    now = [0.0]

    def load() -> tuple[security.SigningKey, ...]:
        loads.append(1)
        return versions[min(len(loads) - 1, 1)]

    ring = security.KeyRing(load, reload_after_s=30, monotonic=lambda: now[0])
    new_token = security.issue_token(security.KeyRing.of(NEW), "rid", now=1000, ttl_s=600)
    assert security.verify_token(ring, security.issue_token(ring, "rid", now=1000, ttl_s=600), now=1000)
    assert len(loads) == 1
    now[0] = 10  # signed with a key this environment has not seen yet, but too soon to reload
    assert security.verify_token(ring, new_token, now=1000) is None and len(loads) == 1
    now[0] = 31  # an environment started before the rotation learns the new key
    assert security.verify_token(ring, new_token, now=1000) is not None and len(loads) == 2
    for _ in range(5):  # forged kids do not hammer Secrets Manager
        bogus = new_token.replace(new_token.split(".")[0], security._header("forged"))
        assert security.verify_token(ring, bogus, now=1000) is None
    assert len(loads) == 2


def test_a_code_mailed_before_a_rotation_still_verifies_and_new_codes_use_the_new_key() -> None:
    mailed = security.verification_code(security.KeyRing.of(OLD), "rid", "n1")
    rotated = security.KeyRing.of(NEW, OLD)
    assert security.code_matches(rotated, "rid", "n1", mailed)
    assert security.verification_code(rotated, "rid", "n1") == security.verification_code(NEW.key, "rid", "n1")
    assert security.verification_code(NEW.key, "rid", "n1") != mailed
    assert not security.code_matches(security.KeyRing.of(NEW), "rid", "n1", mailed)  # previous key dropped


def test_the_secret_holds_a_plain_initial_key_or_current_and_previous() -> None:
    plain = "x" * 64
    assert parse_ring(plain) == (security.SigningKey("0", plain.encode()),)
    ring = (security.SigningKey("2026-a", b"a" * 40), security.SigningKey("0", plain.encode()))
    assert parse_ring(dump_ring(ring)) == ring
    for bad in ("short", '{"current": {"kid": "a"}}', '{"current": {"kid": "", "key": "' + "k" * 40 + '"}}'):
        with pytest.raises(ValueError):
            parse_ring(bad)


def test_a_failed_reload_keeps_the_known_keys_and_never_raises_from_verification() -> None:
    calls = []
    now = [0.0]

    def load() -> tuple[security.SigningKey, ...]:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("ThrottlingException")
        return (OLD,)

    ring = security.KeyRing(load, reload_after_s=30, monotonic=lambda: now[0])
    good = security.issue_token(ring, "rid", now=1000, ttl_s=600)
    unknown = security.issue_token(security.KeyRing.of(NEW), "rid", now=1000, ttl_s=600)
    now[0] = 60
    assert security.verify_token(ring, unknown, now=1000) is None  # reload failed: refused, no 500
    assert security.verify_token(ring, good, now=1000) is not None
    assert len(calls) == 2
