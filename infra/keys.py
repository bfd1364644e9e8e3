"""`prakerja keys rotate [--purpose token|code]`: a new current key, the old one kept as previous.

The secret (TokenSigningSecret / CodeSecret) holds `{"current": {kid, key}, "previous": {kid, key}}`
(src/prakerja/adapters/keyring.py; the plain string generated at deploy counts as kid "0").
A rotation writes a new Secrets Manager version: current = a fresh random key with a new kid,
previous = the old current (the key before that is dropped). The functions sign with the new
key after their next load and still accept the previous one, so nobody is signed out:
- a running environment loads the new ring when it meets an unknown kid (a token) or a code no
  known key makes, at most once per 30 s (security.KeyRing), else at its next cold start;
- run the next rotation no sooner than one token lifetime (TOKEN_TTL_S, 1 h by default) or one
  code lifetime (15 min) later: that rotation drops today's previous key.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prakerja.adapters.keyring import dump_ring, parse_ring
from prakerja.domain.security import SigningKey

PURPOSES = {"token": "TokenSigningSecret", "code": "CodeSecret"}  # nosec B105 # logical ids, not secrets
STACK_OUTPUTS = {"TokenSigningSecret": "TokenSigningSecretArn", "CodeSecret": "CodeSecretArn"}


@dataclass(frozen=True)
class Rotation:
    purpose: str
    secret_id: str
    new_kid: str
    previous_kid: str
    dropped_kid: str | None
    version_id: str


def new_kid(now: dt.datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def rotate(
    client: Any, secret_id: str, purpose: str, *, now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
) -> Rotation:
    """Write the rotated ring as the secret's new current version (the old value is kept by
    Secrets Manager as AWSPREVIOUS, a way back)."""
    old = parse_ring(str(client.get_secret_value(SecretId=secret_id)["SecretString"]))
    fresh = SigningKey(new_kid(now()), secrets.token_urlsafe(48).encode("ascii"))
    ring = (fresh, old[0])
    version = client.put_secret_value(SecretId=secret_id, SecretString=dump_ring(ring))
    return Rotation(
        purpose=purpose,
        secret_id=secret_id,
        new_kid=fresh.kid,
        previous_kid=old[0].kid,
        dropped_kid=old[1].kid if len(old) > 1 else None,
        version_id=str(version.get("VersionId", "")),
    )
