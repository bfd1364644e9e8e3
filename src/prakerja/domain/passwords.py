"""Passwords: the policy and how they are stored.

Policy (NIST SP 800-63B, 5.1.1.2): 8 to 128 characters, no composition rules, refused when it is
a common or breached password or contains the email's local part.
Storage: scrypt (memory-hard, salted), its parameters stored with the hash.

The list of common passwords (data/common_passwords.txt.gz, see data/README.md) is loaded lazily,
once per execution environment, by the first check that needs it: functions that never check a
password never pay for it.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import secrets
from functools import cache
from importlib import resources

from prakerja.domain import errors
from prakerja.domain.errors import FieldProblem
from prakerja.domain.security import b64url_decode, b64url_encode

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_LOCAL_PART = 3
COMMON_PASSWORDS_FILE = "common_passwords.txt.gz"
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
_SCRYPT_MAXMEM = 256 * 1024 * 1024

TOO_SHORT_OR_LONG = f"must be {MIN_LENGTH} to {MAX_LENGTH} characters"
TOO_COMMON = "is too common (it appears in lists of breached passwords); choose another"
CONTAINS_EMAIL = "must not contain your email address"


@cache
def common_passwords() -> frozenset[str]:
    """The common/breached passwords (lower case) that pass the length rule."""
    raw = resources.files("prakerja.domain.data").joinpath(COMMON_PASSWORDS_FILE).read_bytes()
    return frozenset(line for line in gzip.decompress(raw).decode("utf-8").splitlines() if line)


def password_problem(password: str, email: str) -> str | None:
    """Why this password is refused for this (normalised) email, or None when it is acceptable."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return TOO_SHORT_OR_LONG
    folded = password.casefold()
    if folded in common_passwords():
        return TOO_COMMON
    local = email.partition("@")[0].casefold()
    if len(local) >= MIN_LOCAL_PART and local in folded:
        return CONTAINS_EMAIL
    return None


def require_acceptable_password(password: str, email: str, *, field: str = "password") -> None:
    """Raise ValidationFailed naming `field` when the password breaks the policy."""
    problem = password_problem(password, email)
    if problem is not None:
        raise errors.ValidationFailed([FieldProblem(field, problem)])


def hash_password(password: str, *, n: int) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=SCRYPT_DKLEN,
        maxmem=_SCRYPT_MAXMEM,
    )
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64url_encode(salt)}${b64url_encode(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = b64url_decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=b64url_decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=_SCRYPT_MAXMEM,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
