from __future__ import annotations

from prakerja.domain import security

KEY = b"k" * 32


def test_password_hash_is_salted_and_verifies():
    a = security.hash_password("s3cret-pass", n=2**10)
    b = security.hash_password("s3cret-pass", n=2**10)
    assert a != b
    assert security.verify_password("s3cret-pass", a)
    assert not security.verify_password("s3cret-pasS", a)
    assert not security.verify_password("x", "garbage")


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
