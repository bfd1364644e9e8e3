"""Sessions: revocation of bearer tokens (sign-out) and the check every authenticated route
makes against the registration it reads.

Revocation by generation, not by clock: each token carries the registration's `token_gen` at
the moment its authority was established (the registration read that checked the password or
code); sign-out and password reset raise `token_gen` in one conditional write. A token is
accepted while its generation is >= the registration's. So "this token and every earlier one"
holds exactly, even for tokens issued in the same millisecond or on hosts with skewed clocks,
and a sign-in that read the registration before a reset gets a token the reset revokes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prakerja.domain import errors, security
from prakerja.domain.models import Registration
from prakerja.domain.ports import Clock

REVOKED_DETAIL = "The bearer token is invalid or has expired."


@dataclass(frozen=True)
class Session:
    """A signed-in session: the bearer token and how long it lives."""

    registration_id: str
    access_token: str
    expires_in: int


def issue_session(
    token_key: security.KeyLike, registration_id: str, now: float, generation: int, ttl_s: int
) -> Session:
    token = security.issue_token(token_key, registration_id, now=int(now), ttl_s=ttl_s, generation=generation)
    return Session(registration_id, token, ttl_s)


def ensure_current(reg: Registration, token_generation: int | None) -> None:
    """401 when the token was revoked (signed out, password reset). None: not a token request."""
    if token_generation is not None and not reg.accepts_token(token_generation):
        raise errors.Unauthorized(REVOKED_DETAIL)


class SessionStore(Protocol):
    def revoke_tokens(self, registration_id: str, generation: int, now: int) -> bool:
        """Atomically raise the registration's token generation to generation + 1 (and append the
        `signed_out` event) if the token of `generation` is still valid; False when it is not
        (already revoked) or the registration is gone."""


class SessionService:
    def __init__(self, store: SessionStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def sign_out(self, registration_id: str, token_generation: int) -> None:
        now = int(self._clock.now())
        if not self._store.revoke_tokens(registration_id, token_generation, now):
            raise errors.Unauthorized(REVOKED_DETAIL)
