"""POST /registrations/{id}/photo  (auth) — a presigned S3 POST; the photo never passes through Lambda."""

from prakerja import composition
from prakerja.http.api import ApiFunction, Response, json_response
from prakerja.http.schemas import PhotoBody

fn = ApiFunction("upload_photo")


@fn.route("POST", "/registrations/{id}/photo")
def upload_photo(registration_id: str) -> Response:
    claims = fn.authenticate(registration_id, composition.keys().token)
    body = fn.body(PhotoBody)
    post = composition.photo_service().upload_photo(
        registration_id, body.content_type, token_generation=claims.generation
    )
    return json_response(
        201, {"url": post.url, "fields": dict(post.fields), "expires_in": post.expires_in, "max_bytes": post.max_bytes}
    )


handler = fn.handler
