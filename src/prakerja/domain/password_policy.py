"""Password policy (NIST SP 800-63B): the one check every new password goes through.

Minimal version (length only); the common/breached-password list and the email local-part rule
are added with the registration path (issue 9).
"""

from __future__ import annotations

MIN_LENGTH = 8
MAX_LENGTH = 128


def check(password: str, email: str) -> str | None:
    """The problem with `password` for the account of `email` (a message naming no value), or None."""
    del email  # used by the fuller policy (no password containing the email's local part)
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"must be {MIN_LENGTH} to {MAX_LENGTH} characters"
    return None
