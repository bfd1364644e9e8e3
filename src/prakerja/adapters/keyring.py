"""Token and verification-code keys in Secrets Manager (TOKEN_SECRET_ARN, CODE_SECRET_ARN).

The secret's value is either the plain random string generated at deploy (one key, kid "0"), or
after a rotation (`prakerja keys rotate`) the JSON

    {"current": {"kid": "...", "key": "..."}, "previous": {"kid": "...", "key": "..."}}

`current` signs; `current` and `previous` verify. A key is the UTF-8 bytes of its "key" string.
"""

from __future__ import annotations

import json
from typing import Any

from prakerja.domain.security import SigningKey

INITIAL_KID = "0"
MIN_KEY_CHARS = 32


def parse_ring(value: str) -> tuple[SigningKey, ...]:
    """(current, previous?) from a secret value; ValueError for anything malformed."""
    text = value.strip()
    if not text.startswith("{"):
        if len(text) < MIN_KEY_CHARS:
            raise ValueError("key secret too short")
        return (SigningKey(INITIAL_KID, text.encode("utf-8")),)
    doc = json.loads(text)
    found = []
    for slot in ("current", "previous"):
        entry = doc.get(slot) if isinstance(doc, dict) else None
        if entry is None and slot == "previous":
            continue
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("kid"), str)
            or not isinstance(entry.get("key"), str)
        ):
            raise ValueError(f"key secret: malformed {slot!r} entry")
        if not entry["kid"] or len(entry["key"]) < MIN_KEY_CHARS:
            raise ValueError(f"key secret: {slot!r} kid empty or key too short")
        found.append(SigningKey(entry["kid"], entry["key"].encode("utf-8")))
    if len(found) == 2 and found[0].kid == found[1].kid:
        raise ValueError("key secret: current and previous share a kid")
    return tuple(found)


def dump_ring(keys: tuple[SigningKey, ...]) -> str:
    doc: dict[str, Any] = {"current": {"kid": keys[0].kid, "key": keys[0].key.decode("utf-8")}}
    if len(keys) > 1:
        doc["previous"] = {"kid": keys[1].kid, "key": keys[1].key.decode("utf-8")}
    return json.dumps(doc, separators=(",", ":"))


class SecretKeySource:
    """Loads one ring from Secrets Manager (called by security.KeyRing: first use, then only on
    an unknown kid at most once per reload interval)."""

    def __init__(self, client: Any, secret_id: str) -> None:
        self._client = client
        self._secret_id = secret_id

    def __call__(self) -> tuple[SigningKey, ...]:
        resp = self._client.get_secret_value(SecretId=self._secret_id)
        value = resp.get("SecretString")
        if value is None:
            value = bytes(resp["SecretBinary"]).decode("utf-8")
        return parse_ring(value)
