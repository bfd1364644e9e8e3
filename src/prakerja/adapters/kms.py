"""KMS envelope for NIK submissions: the NIK (and the details checked with it) exist in clear
only in memory; at rest and on queues there is ciphertext or an HMAC fingerprint."""

from __future__ import annotations

import base64
from typing import Any


class KmsNikCipher:
    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        self._key_id = key_id

    def encrypt(self, plaintext: str, registration_id: str) -> str:
        resp = self._client.encrypt(
            KeyId=self._key_id,
            Plaintext=plaintext.encode("utf-8"),
            EncryptionContext={"registration_id": registration_id},
        )
        return base64.b64encode(resp["CiphertextBlob"]).decode("ascii")

    def decrypt(self, ciphertext: str, registration_id: str) -> str:
        resp = self._client.decrypt(
            CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext={"registration_id": registration_id}
        )
        return bytes(resp["Plaintext"]).decode("utf-8")


class KmsFingerprinter:
    """NIK fingerprints as HMAC-SHA-256 computed inside KMS (GenerateMac on an HMAC_256 key): the
    key never leaves KMS, so a table dump or a leaked secret cannot brute-force the NIK space."""

    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        self._key_id = key_id

    def fingerprint(self, value: str) -> str:
        resp = self._client.generate_mac(KeyId=self._key_id, Message=value.encode("utf-8"), MacAlgorithm="HMAC_SHA_256")
        return bytes(resp["Mac"]).hex()
