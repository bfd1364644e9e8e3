"""get_personal_data and delete_registration: the person's rights over their own data
(UU 27/2022 on Personal Data Protection: access with the processing history, Art. 32; erasure,
Art. 43-44).

Pure domain: storage through the AccountStore port, photo objects through PhotoObjects.
"""

from __future__ import annotations

from typing import Protocol

from prakerja.domain import errors, passwords
from prakerja.domain.models import Registration
from prakerja.domain.ports import TransientConflict
from prakerja.domain.registration import INVALID_CREDENTIALS  # the one detail of the slug
from prakerja.domain.sessions import ensure_current

DELETE_ROUNDS = 3  # re-read and retry when the registration changes while it is being deleted


class AccountStore(Protocol):
    def get(self, registration_id: str) -> Registration | None: ...

    def delete_registration(self, reg: Registration) -> bool:
        """In one transaction: delete the registration (only if it is still as read), its email
        claim, NIK claim, login throttle and password reset, and give back its seat. False when it
        changed (including a token revocation)."""


class PhotoObjects(Protocol):
    def delete(self, key: str) -> None: ...


class PersonalDataService:
    def __init__(self, store: AccountStore, photos: PhotoObjects) -> None:
        self._store = store
        self._photos = photos

    def get_personal_data(self, registration_id: str, token_generation: int | None = None) -> Registration:
        """Everything held about the person (http.views.personal_data_body picks the fields).
        A revoked token (signed out, password reset) is refused: 401."""
        reg = self._store.get(registration_id)
        if reg is None:
            raise errors.NotFound("No registration with this id.")
        ensure_current(reg, token_generation)
        return reg

    def delete_registration(self, registration_id: str, password: str, token_generation: int | None = None) -> None:
        """Erase the registration once the password confirms it is the person. The photo objects
        go first (an object delete that fails leaves the registration intact, so a retry finds
        it); the items then go in one conditional transaction, which fails, and is retried from
        a fresh read, when an upload, a NIK submission or a seat came in meanwhile. A revoked
        token (signed out, password reset) is refused: 401, before the password is checked."""
        reg = self._store.get(registration_id)
        if reg is None:
            raise errors.NotFound("No registration with this id.")
        ensure_current(reg, token_generation)
        if not passwords.verify_password(password, reg.password_hash):
            raise errors.InvalidCredentials(INVALID_CREDENTIALS)
        for _ in range(DELETE_ROUNDS):
            for key in sorted({k for k in (reg.photo_key, reg.photo_upload_key) if k}):
                self._photos.delete(key)
            try:
                if self._store.delete_registration(reg):
                    return
            except TransientConflict:
                pass
            fresh = self._store.get(registration_id)
            if fresh is None:
                return  # deleted meanwhile (a concurrent request, or its expiry)
            ensure_current(fresh, token_generation)  # revoked meanwhile
            reg = fresh
        raise errors.ServiceUnavailable("Please retry.")
