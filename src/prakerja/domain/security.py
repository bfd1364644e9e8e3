"""Security primitives (stdlib only): password KDF, verification codes, bearer tokens, fingerprints.

- Passwords: scrypt (memory-hard, salted), parameters stored with the hash.
- Verification codes are never stored: code = HMAC(code_key, registration_id | nonce) -> 6 digits.
  The registration keeps only the random nonce; a new nonce kills the old code.
- Bearer tokens: compact JWS (HS256) bound to one registration, with expiry.
- Fingerprints: HMAC-SHA256 with a secret key, so a lookup key reveals nothing without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
_SCRYPT_MAXMEM = 256 * 1024 * 1024


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive_key(master: bytes, label: str) -> bytes:
    """A subkey for one purpose from the master secret (HMAC-based key separation)."""
    return hmac.new(master, b"prakerja/" + label.encode(), hashlib.sha256).digest()


# --- passwords ------------------------------------------------------------------
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
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64e(salt)}${_b64e(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = _b64d(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=_b64d(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=_SCRYPT_MAXMEM,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# --- verification codes -----------------------------------------------------------
def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def verification_code(code_key: bytes, registration_id: str, nonce: str) -> str:
    mac = hmac.new(code_key, f"{registration_id}|{nonce}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 1_000_000:06d}"


def code_matches(code_key: bytes, registration_id: str, nonce: str, candidate: str) -> bool:
    expected = verification_code(code_key, registration_id, nonce)
    return hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace"))


# Password-reset codes: the same derivation in their own domain ("reset:" never prefixes a
# registration id, which is 32 hex), so a verification code can never be a reset code.
RESET_CODE_CONTEXT = "reset:"


def reset_code(code_key: bytes, registration_id: str, nonce: str) -> str:
    return verification_code(code_key, RESET_CODE_CONTEXT + registration_id, nonce)


def reset_code_matches(code_key: bytes, registration_id: str | None, nonce: str, candidate: str) -> bool:
    """Constant work whether or not a registration stands behind the reset (no enumeration)."""
    expected = reset_code(code_key, registration_id or "-", nonce)
    same = hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace"))
    return same and registration_id is not None


# --- fingerprints -------------------------------------------------------------------
def fingerprint(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def sha256_hex(value: str | bytes) -> str:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


# --- bearer tokens --------------------------------------------------------------------
_HEADER = _b64e(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
ISSUER = "prakerja"


@dataclass(frozen=True)
class TokenClaims:
    registration_id: str
    issued_at: int
    expires_at: int
    # The registration's token generation when the token was issued (claim `gen`, 0 if absent):
    # sign-out and password reset raise the registration's generation, revoking older tokens.
    generation: int = 0


def issue_token(token_key: bytes, registration_id: str, *, now: int, ttl_s: int, generation: int = 0) -> str:
    """Claims: iss, sub, iat, exp, gen. New claims (and a `kid` header) can be added without
    breaking verification of tokens issued before."""
    payload = {"iss": ISSUER, "sub": registration_id, "iat": now, "exp": now + ttl_s, "gen": generation}
    body = _b64e(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = f"{_HEADER}.{body}"
    sig = hmac.new(token_key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64e(sig)}"


def verify_token(token_key: bytes, token: str, *, now: int) -> TokenClaims | None:
    """The claims of a valid, unexpired token; None for anything else (never raises)."""
    try:
        header, body, sig = token.split(".")
        if header != _HEADER:
            return None
        expected = hmac.new(token_key, f"{header}.{body}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64d(sig)):
            return None
        claims = json.loads(_b64d(body))
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
