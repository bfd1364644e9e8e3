"""Security primitives (stdlib only): verification codes, bearer tokens, fingerprints (password
hashing lives with the password policy, in passwords.py).

- Verification codes are never stored: code = HMAC(code_key, registration_id | nonce) -> 6 digits.
  The registration keeps only the random nonce; a new nonce kills the old code.
- Bearer tokens: compact JWS (HS256) bound to one registration, with expiry; the header names the
  signing key (`kid`).
- Fingerprints: HMAC-SHA256 with a secret key, so a lookup key reveals nothing without the key
  (in production the NIK fingerprint is computed inside KMS: a `Fingerprinter`, see adapters/kms.py).

Rotation: token and code keys come as a `KeyRing` - the current key signs, the current and the
previous key verify. A ring loads lazily (the first route that needs it) and once per execution
environment; a token naming an unknown kid, or a code no known key matches, reloads the ring at
most once per `reload_after_s` (an environment started before a rotation learns the new key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, Union


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: bytes


class KeyRing:
    """The keys of one purpose: `current` signs; every key of the ring verifies.

    `load` returns (current, *older) and is called on first use, then again only when a caller
    meets a key it does not know (`refresh`), at most once per `reload_after_s`.
    """

    def __init__(
        self,
        load: Callable[[], tuple[SigningKey, ...]],
        *,
        reload_after_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._reload_after_s = reload_after_s
        self._monotonic = monotonic
        self._keys: tuple[SigningKey, ...] = ()
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    @classmethod
    def of(cls, *keys: SigningKey | bytes) -> KeyRing:
        """A fixed ring (tests, tools): raw bytes get the kid "0", "1", ..."""
        fixed = tuple(k if isinstance(k, SigningKey) else SigningKey(str(i), k) for i, k in enumerate(keys))
        return cls(lambda: fixed)

    def keys(self) -> tuple[SigningKey, ...]:
        if not self._keys:
            with self._lock:
                if not self._keys:
                    self._set(self._load())
        return self._keys

    @property
    def current(self) -> SigningKey:
        return self.keys()[0]

    def find(self, kid: str) -> SigningKey | None:
        for key in self.keys():
            if key.kid == kid:
                return key
        return next((k for k in self.refresh() if k.kid == kid), None)

    def refresh(self) -> tuple[SigningKey, ...]:
        """Reload if the keys are older than reload_after_s; the (possibly new) keys."""
        keys = self.keys()
        if self._monotonic() - self._loaded_at < self._reload_after_s:
            return keys
        with self._lock:
            if self._monotonic() - self._loaded_at >= self._reload_after_s:
                try:
                    self._set(self._load())
                except Exception:  # the secret is unreadable right now: keep the keys we have
                    self._loaded_at = self._monotonic()
        return self._keys

    def _set(self, keys: tuple[SigningKey, ...]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self._keys = keys
        self._loaded_at = self._monotonic()


KeyLike = Union[KeyRing, bytes]  # noqa: UP007 - runtime alias, valid on 3.11


def as_ring(key: KeyLike) -> KeyRing:
    return key if isinstance(key, KeyRing) else KeyRing.of(key)


class Fingerprinter(Protocol):
    def fingerprint(self, value: str) -> str: ...


class HmacFingerprinter:
    """A fingerprint with a key held in memory (tests, tools)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def fingerprint(self, value: str) -> str:
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def derive_key(master: bytes, label: str) -> bytes:
    """A subkey for one purpose from the master secret (HMAC-based key separation)."""
    return hmac.new(master, b"prakerja/" + label.encode(), hashlib.sha256).digest()


# --- verification codes -----------------------------------------------------------
def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def _code(key: bytes, registration_id: str, nonce: str) -> str:
    mac = hmac.new(key, f"{registration_id}|{nonce}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 1_000_000:06d}"


def verification_code(code_key: KeyLike, registration_id: str, nonce: str) -> str:
    """The code to mail: made with the current key of the ring."""
    return _code(as_ring(code_key).current.key, registration_id, nonce)


def code_matches(code_key: KeyLike, registration_id: str, nonce: str, candidate: str) -> bool:
    """True when a key of the ring (current or previous: a code mailed just before a rotation)
    makes this code. A miss reloads the ring at most once per reload interval."""
    ring = as_ring(code_key)
    given = candidate.encode("utf-8", "replace")

    def matches(keys: tuple[SigningKey, ...]) -> bool:
        hits = [hmac.compare_digest(_code(k.key, registration_id, nonce).encode(), given) for k in keys]
        return any(hits)

    known = ring.keys()
    if matches(known):
        return True
    reloaded = ring.refresh()
    return reloaded is not known and matches(reloaded)


# Password-reset codes: the same derivation in their own domain ("reset:" never prefixes a
# registration id, which is 32 hex), so a verification code can never be a reset code.
RESET_CODE_CONTEXT = "reset:"


def reset_code(code_key: KeyLike, registration_id: str, nonce: str) -> str:
    return verification_code(code_key, RESET_CODE_CONTEXT + registration_id, nonce)


def reset_code_matches(code_key: KeyLike, registration_id: str | None, nonce: str, candidate: str) -> bool:
    """Constant work whether or not a registration stands behind the reset (no enumeration); like
    code_matches, a code mailed just before a key rotation still matches (previous key)."""
    same = code_matches(code_key, RESET_CODE_CONTEXT + (registration_id or "-"), nonce, candidate)
    return same and registration_id is not None


# --- fingerprints -------------------------------------------------------------------
def fingerprint(key: Fingerprinter | bytes, value: str) -> str:
    if isinstance(key, bytes):
        return HmacFingerprinter(key).fingerprint(value)
    return key.fingerprint(value)


def sha256_hex(value: str | bytes) -> str:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


# --- bearer tokens --------------------------------------------------------------------
ISSUER = "prakerja"


def _header(kid: str) -> str:
    return b64url_encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}, separators=(",", ":")).encode())


@dataclass(frozen=True)
class TokenClaims:
    registration_id: str
    issued_at: int
    expires_at: int
    # The registration's token generation when the token was issued (claim `gen`, 0 if absent):
    # sign-out and password reset raise the registration's generation, revoking older tokens.
    generation: int = 0


def issue_token(token_key: KeyLike, registration_id: str, *, now: int, ttl_s: int, generation: int = 0) -> str:
    """A token signed with the ring's current key, its kid in the header. Claims: iss, sub, iat,
    exp, gen (the registration's token generation: sign-out and password reset revoke older ones)."""
    signing = as_ring(token_key).current
    payload = {"iss": ISSUER, "sub": registration_id, "iat": now, "exp": now + ttl_s, "gen": generation}
    body = b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = f"{_header(signing.kid)}.{body}"
    sig = hmac.new(signing.key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(sig)}"


def token_kid(token: str) -> str | None:
    """The kid of a well-formed HS256 token header; None otherwise."""
    try:
        header = json.loads(b64url_decode(token.split(".", 1)[0]))
    except (ValueError, UnicodeError):
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or header.get("typ") != "JWT":
        return None
    kid = header.get("kid")
    return kid if isinstance(kid, str) and 0 < len(kid) <= 64 else None


def verify_token(token_key: KeyLike, token: str, *, now: int) -> TokenClaims | None:
    """The claims of a valid, unexpired token signed by a key of the ring (named by its kid);
    None for anything else (never raises). An unknown kid reloads the ring (rate-limited)."""
    try:
        header, body, sig = token.split(".")
        kid = token_kid(token)
        if kid is None or len(token) > 4096:
            return None
        signing = as_ring(token_key).find(kid)
        if signing is None:
            return None
        expected = hmac.new(signing.key, f"{header}.{body}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, b64url_decode(sig)):
            return None
        claims = json.loads(b64url_decode(body))
        sub, iat, exp = claims["sub"], int(claims["iat"]), int(claims["exp"])
        gen = int(claims.get("gen", 0))
    except (ValueError, KeyError, TypeError, UnicodeError, AttributeError):
        return None
    if claims.get("iss") != ISSUER or not isinstance(sub, str) or exp <= now or gen < 0:
        return None
    return TokenClaims(registration_id=sub, issued_at=iat, expires_at=exp, generation=gen)


# --- masking ----------------------------------------------------------------------------
def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
