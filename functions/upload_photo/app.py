"""POST /registrations/{id}/photo  (auth) — a presigned S3 POST; the photo never passes through Lambda."""

from prakerja.http.api import ApiFunction, json_response
from prakerja.http.schemas import PhotoBody
from prakerja.runtime import keys
from prakerja.services import photo_service

fn = ApiFunction("upload_photo")


@fn.route("POST", "/registrations/{id}/photo")
def upload_photo(registration_id: str):  # type: ignore[no-untyped-def]
    fn.authenticate(registration_id, keys().token)
    body = fn.body(PhotoBody)
    return json_response(201, photo_service().start_upload(registration_id, body.content_type))


handler = fn.handler
