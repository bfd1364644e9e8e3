"""Emails the system sends (plain text, Indonesian first, English second).

render() decides from the current registration whether a queued email is still worth
sending (a replaced verification code is not) and what it says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prakerja.domain.models import Registration
from prakerja.domain.security import KeyLike, verification_code


class PermanentEmailFailure(Exception):
    """The mail service refused the message for good (bad address, unverified identity): do not retry."""


class MailRejected(Exception):
    """SES refused the message (MessageRejected: e.g. "Sending paused for this account", an
    unverified identity). Never dropped: the message comes back after its visibility timeout and
    is parked in EmailDLQ after maxReceiveCount, to be redriven once sending is fixed."""


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str


_NIK_REASONS = {
    "MISMATCH": "Data tidak cocok dengan data kependudukan / The details do not match the population registry",
    "NOT_FOUND": "NIK tidak ditemukan / The NIK was not found in the population registry",
}


def render(reg: Registration, template: str, payload: Mapping[str, Any], code_key: KeyLike) -> Email | None:
    if reg.email_delivery != "OK":
        return None  # the address bounced or complained (domain.email_delivery): never mail it again
    if template == "verify_code":
        nonce = str(payload.get("nonce", ""))
        if reg.email_verified or nonce != reg.code_nonce:
            return None  # stale: a newer code was sent or the email is verified already
        code = verification_code(code_key, reg.registration_id, nonce)
        return Email(
            to=reg.email,
            subject="Kode verifikasi Prakerja / Prakerja verification code",
            text=(
                f"Halo {reg.full_name},\n\n"
                f"Kode verifikasi Anda: {code}\n"
                "Kode berlaku 15 menit. Jangan berikan kode ini kepada siapa pun.\n\n"
                f"Your verification code: {code}\n"
                "It expires in 15 minutes. Never share it with anyone.\n"
            ),
        )
    if template == "nik_result":
        verdict = str(payload.get("nik_status", ""))
        if verdict == "VERIFIED":
            body = (
                "NIK Anda telah terverifikasi. Langkah berikutnya: unggah foto dan pilih gelombang.\n"
                "Your NIK is verified. Next: upload your photo and join a batch.\n"
            )
        else:
            reason = _NIK_REASONS.get(str(payload.get("nik_reason", "")), "")
            body = (
                f"NIK Anda belum dapat diverifikasi. {reason}.\n"
                "Periksa kembali NIK, nama, tanggal lahir dan jenis kelamin, lalu kirim ulang.\n"
                "Please check your NIK, name, birth date and gender, then submit again.\n"
            )
        return Email(
            to=reg.email,
            subject="Hasil verifikasi NIK / NIK verification result",
            text=f"Halo {reg.full_name},\n\n{body}",
        )
    return None
