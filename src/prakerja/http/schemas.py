"""Request bodies (pydantic v2, strict, unknown fields rejected). Errors name the field and never
echo the submitted value."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

_EMAIL = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
_NAME_PUNCTUATION = set(" .'-")


class Body(BaseModel):
    # defer_build: a function validates one body model; the others' schemas are never built.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 254:
        raise ValueError("must be at most 254 characters")
    if not _EMAIL.match(email) or ".." in email:
        raise ValueError("is not a valid email address")
    return email


def normalise_phone(value: str) -> str:
    """Indonesian mobile number (08…, 628… or +628…) as E.164 (+628…)."""
    raw = _PHONE_SEPARATORS.sub("", value.strip())
    if raw.startswith("+62"):
        nsn = raw[3:]
    elif raw.startswith("62"):
        nsn = raw[2:]
    elif raw.startswith("0"):
        nsn = raw[1:]
    else:
        raise ValueError("must be an Indonesian mobile number starting with 08, 628 or +628")
    if not (nsn.isascii() and nsn.isdigit()) or not nsn.startswith("8") or not 9 <= len(nsn) <= 12:
        raise ValueError("must be an Indonesian mobile number starting with 08, 628 or +628")
    return "+62" + nsn


def clean_full_name(value: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if not 1 <= len(name) <= 100:
        raise ValueError("must be 1 to 100 characters")
    if any(not (ch.isalpha() or ch in _NAME_PUNCTUATION) for ch in name):
        raise ValueError("may contain only letters, spaces and . ' -")
    if not any(ch.isalpha() for ch in name):
        raise ValueError("must contain letters")
    return name


def six_digit_code(value: str) -> str:
    code = value.strip()
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise ValueError("must be the 6-digit code from the email")
    return code


# Field types shared by the bodies: a size cap checked first, then the normalising validator.
# The email's also keeps a lookup key within DynamoDB's key size.
Email = Annotated[str, StringConstraints(max_length=1000), AfterValidator(normalise_email)]
FullName = Annotated[str, StringConstraints(max_length=400), AfterValidator(clean_full_name)]
Code = Annotated[str, StringConstraints(max_length=20), AfterValidator(six_digit_code)]


class ConsentBody(Body):
    """The terms the person accepts by registering (stored with the time of acceptance)."""

    terms_version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    accepted: bool

    @field_validator("accepted")
    @classmethod
    def _accepted(cls, v: bool) -> bool:
        if v is not True:
            raise ValueError("must be true: registering requires accepting the terms")
        return v


class RegisterBody(Body):
    email: Email
    password: Annotated[str, StringConstraints(max_length=1000)]
    full_name: FullName
    phone: Annotated[str, StringConstraints(max_length=40)]
    consent: ConsentBody

    @field_validator("password")
    @classmethod
    def _password(cls, v: str) -> str:
        if not 8 <= len(v) <= 128:
            raise ValueError("must be 8 to 128 characters")
        return v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalise_phone(v)


class DeleteRegistrationBody(Body):
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class CodeBody(Body):
    code: Code


class SessionBody(Body):
    email: Email
    password: Annotated[str, StringConstraints(max_length=1000)]


class PasswordResetBody(Body):
    email: Email


class PasswordResetConfirmBody(Body):
    email: Email
    code: Code
    new_password: Annotated[str, StringConstraints(max_length=1000)]  # the policy: domain.passwords


class NikBody(Body):
    nik: Annotated[str, StringConstraints(max_length=64)]
    full_name: FullName
    birth_date: Annotated[str, StringConstraints(max_length=32)]
    gender: Literal["M", "F"]

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, v: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise ValueError("must be a date as YYYY-MM-DD")
        try:
            dt.date.fromisoformat(v)
        except ValueError:
            raise ValueError("is not a real calendar date") from None
        return v

    @property
    def birth(self) -> dt.date:
        return dt.date.fromisoformat(self.birth_date)


class PhotoBody(Body):
    content_type: Literal["image/jpeg", "image/png"]


class JoinBatchBody(Body):
    batch_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
