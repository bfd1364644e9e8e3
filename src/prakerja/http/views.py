"""Response bodies of the contract (docs/API.md), built from domain results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prakerja.domain import security
from prakerja.domain.models import iso_utc

if TYPE_CHECKING:  # annotations only: a function imports the domain modules its own route uses
    from prakerja.domain.batch import BatchState
    from prakerja.domain.models import Registration
    from prakerja.domain.sessions import Session
    from prakerja.domain.status import SystemStatus


def session_body(session: Session, **extra: Any) -> dict[str, Any]:
    return {
        "registration_id": session.registration_id,
        **extra,
        "access_token": session.access_token,
        "token_type": "Bearer",  # nosec B105 # the OAuth token type name, not a password
        "expires_in": session.expires_in,
    }


def registration_body(reg: Registration) -> dict[str, Any]:
    return {
        "registration_id": reg.registration_id,
        "status": reg.status,
        "email": security.mask_email(reg.email),
        "email_verified": reg.email_verified,
        "email_delivery": reg.email_delivery,
        "nik_status": reg.nik_status,
        "nik_reason": reg.nik_reason,
        "photo_status": reg.photo_status,
        "photo_reason": reg.photo_reason,
        "batch_id": reg.batch_id,
        "created_at": iso_utc(reg.created_at),
    }


def batch_body(state: BatchState) -> dict[str, Any]:
    return {
        "batch_id": state.batch.batch_id,
        "name": state.batch.name,
        "seats_total": state.batch.seats_total,
        "seats_left": state.seats_left,
    }


def status_body(status: SystemStatus) -> dict[str, Any]:
    return {
        "email": {"queued": status.email.queued, "eta_s": status.email.eta_s},
        "nik": {"pending": status.nik.queued, "eta_s": status.nik.eta_s, "registry": status.registry},
        "updated_at": iso_utc(status.updated_at),
    }


def personal_data_body(reg: Registration) -> dict[str, Any]:
    """Every personal field held about the person, and the processing history (UU PDP Art. 32).
    The NIK itself is never stored in clear: its masked form is all there is to show."""
    consent = reg.consent
    return {
        "registration_id": reg.registration_id,
        "email": reg.email,
        "email_verified": reg.email_verified,
        "phone": reg.phone,
        "full_name": reg.full_name,
        "created_at": iso_utc(reg.created_at),
        "consent": (
            {"terms_version": consent.terms_version, "accepted": True, "accepted_at": iso_utc(consent.accepted_at)}
            if consent
            else None
        ),
        "nik": {"masked": reg.nik_masked, "status": reg.nik_status, "reason": reg.nik_reason},
        "photo": {"status": reg.photo_status, "reason": reg.photo_reason},
        "batch": {"batch_id": reg.batch_id} if reg.batch_id else None,
        "unverified_expires_at": iso_utc(reg.expires_at) if reg.expires_at else None,
        "processing": [{"event": e.name, "at": iso_utc(e.at)} for e in reg.events],
    }
