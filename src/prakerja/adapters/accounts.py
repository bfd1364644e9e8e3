"""A person's account as a whole: read it, erase it with everything keyed by its personal data
(implements prakerja.domain.personal_data.AccountStore)."""

from __future__ import annotations

from typing import Any

from prakerja.adapters.dynamo_codec import ser, to_item
from prakerja.adapters.keys import email_key, login_key, nik_claim_key, reg_key, reset_key, seat_key
from prakerja.adapters.registration_items import get_registration
from prakerja.adapters.table import Table
from prakerja.domain.models import Registration
from prakerja.domain.security import sha256_hex


class DynamoAccountStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, registration_id: str) -> Registration | None:
        return get_registration(self._table, registration_id)

    def delete_registration(self, reg: Registration) -> bool:
        """Delete the registration and everything keyed by its personal data in ONE transaction:
        the registration item (email, phone, name, NIK ciphertext and masked form, events), its
        email claim, its NIK claim (the fingerprint), its login throttle and password reset (both
        keyed by the hashed email), and give
        back its seat. False when the registration changed since `reg` was read."""
        name = self._table.name
        rid = reg.registration_id
        values: dict[str, Any] = {":seq": reg.nik_seq, ":gen": reg.token_gen}
        condition = [
            "attribute_exists(pk)",
            "(attribute_not_exists(nik_seq) OR nik_seq = :seq)",
            "(attribute_not_exists(token_gen) OR token_gen = :gen)",  # not revoked meanwhile
        ]
        for attr, value in (("batch_id", reg.batch_id), ("photo_upload_key", reg.photo_upload_key)):
            if value is None:
                condition.append(f"attribute_not_exists({attr})")
            else:
                condition.append(f"{attr} = :{attr}")
                values[f":{attr}"] = value
        mine = {"ConditionExpression": "attribute_not_exists(pk) OR registration_id = :me"}
        me = {":me": {"S": rid}}
        items: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": name,
                    "Key": reg_key(rid),
                    "ConditionExpression": " AND ".join(condition),
                    "ExpressionAttributeValues": to_item(values),
                }
            },
            {"Delete": {"TableName": name, "Key": email_key(reg.email), **mine, "ExpressionAttributeValues": me}},
            {"Delete": {"TableName": name, "Key": login_key(sha256_hex(reg.email))}},
            {"Delete": {"TableName": name, "Key": reset_key(sha256_hex(reg.email))}},
        ]
        if reg.nik_fp and reg.nik_status in ("PENDING", "VERIFIED"):
            # (a REJECTED check released its claim already; another registration may hold it now)
            items.append(
                {
                    "Delete": {
                        "TableName": name,
                        "Key": nik_claim_key(reg.nik_fp),
                        **mine,
                        "ExpressionAttributeValues": me,
                    }
                }
            )
        if reg.batch_id is not None and reg.seat_shard is not None:
            items.append(
                {
                    "Update": {
                        "TableName": name,
                        "Key": seat_key(reg.batch_id, reg.seat_shard),
                        "UpdateExpression": "SET taken = taken - :one",
                        "ConditionExpression": "taken > :zero",
                        "ExpressionAttributeValues": {":one": ser(1), ":zero": ser(0)},
                    }
                }
            )
        return self._table.transact_if(items)
