"""Password policy (NIST SP 800-63B, 5.1.1.2): 8 to 128 characters, no composition rules, refused
when it is a common or breached password or contains the email's local part.

The list of common passwords (data/common_passwords.txt.gz, see data/README.md) is loaded lazily,
once per execution environment, by the first check that needs it: functions that never check a
password never pay for it.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

from prakerja.domain import errors
from prakerja.domain.errors import FieldProblem

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_LOCAL_PART = 3
COMMON_PASSWORDS_FILE = "common_passwords.txt.gz"

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
