"""Emails the system sends (plain text, Indonesian first, English second).

render() decides from the current registration whether a queued email is still worth
sending (a replaced verification code is not) and what it says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prakerja.domain.models import Registration
from prakerja.domain.security import KeyLike, reset_code, verification_code


class PermanentEmailFailure(Exception):
    """The mail service refused the message for good (bad address, unverified identity): do not retry."""


class EmailThrottled(Exception):  # noqa: N818 - a condition, not a bug
    """The mail service is over its sending rate (or briefly failing): nothing was sent; retry later."""


class MailRejected(Exception):
    """SES refused the message (MessageRejected: e.g. "Sending paused for this account", an
    unverified identity). Never dropped: the message comes back after its visibility timeout and
    is parked in EmailDLQ after maxReceiveCount, to be redriven once sending is fixed."""


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str


# registry verdict -> (Indonesian, English): each part of the email in its own language
_NIK_REASONS = {
    "MISMATCH": ("Data tidak cocok dengan data kependudukan.", "The details do not match the population registry."),
    "NOT_FOUND": ("NIK tidak ditemukan dalam data kependudukan.", "The NIK was not found in the population registry."),
}


def _lifetime(seconds: int) -> tuple[str, str]:
    """(Indonesian, English) wording of a code's lifetime."""
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} menit", f"{minutes} minute" + ("s" if minutes != 1 else "")
    return f"{seconds} detik", f"{seconds} seconds"


def render(
    reg: Registration, template: str, payload: Mapping[str, Any], code_key: KeyLike, *, code_ttl_s: int = 900
) -> Email | None:
    if reg.email_delivery != "OK":
        return None  # the address bounced or complained (domain.email_delivery): never mail it again
    if template == "verify_code":
        nonce = str(payload.get("nonce", ""))
        if reg.email_verified or nonce != reg.code_nonce:
            return None  # stale: a newer code was sent or the email is verified already
        code = verification_code(code_key, reg.registration_id, nonce)
        life_id, life_en = _lifetime(code_ttl_s)
        return Email(
            to=reg.email,
            subject="Kode verifikasi Prakerja / Prakerja verification code",
            text=(
                f"Halo {reg.full_name},\n\n"
                f"Kode verifikasi Anda: {code}\n"
                f"Kode berlaku {life_id}. Jangan berikan kode ini kepada siapa pun.\n\n"
                f"Your verification code: {code}\n"
                f"It expires in {life_en}. Never share it with anyone.\n"
            ),
        )
    if template == "reset_code":
        nonce = str(payload.get("nonce", ""))
        if not nonce:
            return None
        # The code dies with a newer request or once used; a late email carries a dead code.
        code = reset_code(code_key, reg.registration_id, nonce)
        return Email(
            to=reg.email,
            subject="Kode atur ulang kata sandi Prakerja / Prakerja password reset code",
            text=(
                f"Halo {reg.full_name},\n\n"
                f"Kode untuk mengatur ulang kata sandi Anda: {code}\n"
                "Kode berlaku 15 menit. Jangan berikan kode ini kepada siapa pun.\n"
                "Jika Anda tidak meminta pengaturan ulang, abaikan email ini: kata sandi Anda tidak berubah.\n\n"
                f"Your password reset code: {code}\n"
                "It expires in 15 minutes. Never share it with anyone.\n"
                "If you did not ask for a reset, ignore this email: your password stays the same.\n"
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
            reason_id, reason_en = _NIK_REASONS.get(str(payload.get("nik_reason", "")), ("", ""))
            lines = [
                f"NIK Anda belum dapat diverifikasi. {reason_id}".rstrip(),
                "Silakan periksa kembali NIK, nama, tanggal lahir, dan jenis kelamin, lalu kirim ulang.",
                "",
                f"Your NIK could not be verified. {reason_en}".rstrip(),
                "Please check your NIK, name, birth date and gender, then submit again.",
            ]
            body = "\n".join(lines) + "\n"
        return Email(
            to=reg.email,
            subject="Hasil verifikasi NIK / NIK verification result",
            text=f"Halo {reg.full_name},\n\n{body}",
        )
    return None
