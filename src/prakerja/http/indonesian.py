"""The Indonesian catalogue: problem titles by slug, and details and field messages keyed like
gettext, by the English text the code writes (domain errors stay English; http/i18n.py looks the
text up here when a response is negotiated to Indonesian).

HOW TO ADD A TRANSLATION (tests/unit/test_i18n_catalogue.py fails until you do):
- a new problem slug (in http/problems.py STATUS_AND_TITLE, or a new DomainError subclass):
  add its Indonesian title to TITLES_ID, keyed by the slug.
- a new or reworded English detail or field message (`raise errors.X("...")`,
  `FieldProblem(field, "...")`, a `ValueError("...")` of a validator in http/schemas.py): add it
  to MESSAGES_ID, exactly as the code writes it, with each run-time part (an f-string
  expression, a concatenated value) written as a `{name}` placeholder; the Indonesian text uses
  the same names (a value is matched shortest-first, so a value that itself contains the text
  following its placeholder is cut there: prefer messages whose values end them). Example:
  f"Wait {wait} s before asking for a new code." gets the entry
  "Wait {wait} s before asking for a new code.": "Silakan tunggu {wait} detik sebelum meminta kode baru."
- an English phrase that arrives as a parameter (e.g. the steps listed by `missing_steps`):
  add it to FRAGMENTS_ID; lists joined with " and " / " or " are translated item by item.
- a pydantic built-in error type our schemas can now produce: add it to PYDANTIC_ID (English
  template exactly as pydantic_core words it, with its context names).
Write natural, polite Indonesian as a government service does ("Anda", "silakan"), not a
word-for-word rendering; keep codes, numbers, field names and example formats as they are.
"""

# -- titles: problem `type` slug -> Indonesian title -------------------------------------------------
TITLES_ID: dict[str, str] = {
    "validation-error": "Permintaan tidak valid",
    "not-found": "Tidak ditemukan",
    "unauthorized": "Autentikasi diperlukan",
    "email-taken": "Email ini sudah terdaftar",
    "idempotency-key-reused": "Idempotency-Key sudah dipakai untuk permintaan lain",
    "idempotency-in-progress": "Permintaan dengan Idempotency-Key ini masih diproses",
    "code-mismatch": "Kode verifikasi salah",
    "code-expired": "Kode verifikasi sudah kedaluwarsa",
    "too-many-attempts": "Terlalu banyak percobaan",
    "already-verified": "Email sudah terverifikasi",
    "resend-too-soon": "Kode baru belum dapat dikirim",
    "invalid-credentials": "Email atau kata sandi salah",
    "email-not-verified": "Alamat email belum terverifikasi",
    "nik-taken": "NIK ini sudah terdaftar pada pendaftaran lain",
    "nik-already-submitted": "NIK sudah dikirim untuk pendaftaran ini",
    "not-eligible": "Belum dapat bergabung ke gelombang",
    "batch-full": "Kuota gelombang sudah penuh",
    "already-joined": "Sudah bergabung di gelombang lain",
    "batch-exists": "Gelombang dengan id ini sudah ada dengan data lain",
    "service-unavailable": "Layanan sedang tidak tersedia, silakan coba lagi",
    "service-busy": "Layanan sedang sibuk, silakan coba lagi",
    "payload-too-large": "Isi permintaan terlalu besar",
    "internal-error": "Terjadi kesalahan pada sistem",
}
FALLBACK_TITLE_ID = "Permintaan gagal"  # a slug problems.py has no title for ("Request failed")

# -- details and field messages: English text as the code writes it -> Indonesian ---------------
MESSAGES_ID: dict[str, str] = {
    # http layer (api.py, problems.py)
    "must be UTF-8 JSON": "harus berupa JSON dengan pengodean UTF-8",
    "is not valid JSON": "bukan JSON yang valid",
    "must be a JSON object": "harus berupa objek JSON",
    "No such route.": "Alamat ini tidak tersedia.",
    "A valid bearer token is required.": "Diperlukan token akses yang valid. Silakan masuk terlebih dahulu.",
    "The bearer token is invalid or has expired.": (
        "Token akses tidak valid atau sudah kedaluwarsa. Silakan masuk kembali."
    ),
    "The body must be at most {max_bytes} bytes.": "Isi permintaan paling banyak {max_bytes} byte.",
    "Something went wrong on our side; please retry.": "Terjadi kesalahan pada sistem kami. Silakan coba lagi.",
    # registrations, codes, sessions
    "No registration with this id.": "Pendaftaran dengan id ini tidak ditemukan.",
    "This email address already has a registration; log in instead.": (
        "Alamat email ini sudah terdaftar. Silakan masuk dengan email tersebut."
    ),
    "The first request with this Idempotency-Key is still in flight; retry shortly.": (
        "Permintaan pertama dengan Idempotency-Key ini masih diproses. Silakan coba lagi sebentar lagi."
    ),
    "Retry shortly.": "Silakan coba lagi sebentar lagi.",
    "Please retry.": "Silakan coba lagi.",
    "This Idempotency-Key was used with a different request body; use a new key.": (
        "Idempotency-Key ini sudah dipakai untuk isi permintaan yang berbeda. Silakan gunakan kunci baru."
    ),
    "This email address is already verified; log in instead.": "Alamat email ini sudah terverifikasi. Silakan masuk.",
    "This email address is already verified.": "Alamat email ini sudah terverifikasi.",
    "Too many wrong codes: request a new code.": "Terlalu banyak percobaan. Silakan minta kode baru.",
    "The code has expired: request a new code.": "Kode verifikasi sudah kedaluwarsa. Silakan minta kode baru.",
    "The code is not correct.": "Kode verifikasi salah.",
    "Wait {wait} s before asking for a new code.": "Silakan tunggu {wait} detik sebelum meminta kode baru.",
    "At most {uploads} photo uploads an hour: try again later.": (
        "Paling banyak {uploads} kali unggah foto per jam. Silakan coba lagi nanti."
    ),
    "At most 5 new codes a day: try again tomorrow.": (
        "Kode baru dapat diminta paling banyak 5 kali sehari. Silakan coba lagi besok."
    ),
    "A new code was just sent.": "Kode baru saja dikirim. Silakan periksa kotak masuk email Anda.",
    "Too many failed logins for this email: wait and try again.": (
        "Terlalu banyak percobaan masuk yang gagal untuk email ini. Silakan tunggu sebentar, lalu coba lagi."
    ),
    "Email or password is not correct.": "Email atau kata sandi salah.",
    "Verify your email address first (check your inbox).": (
        "Silakan verifikasi alamat email Anda terlebih dahulu (periksa kotak masuk email Anda)."
    ),
    "Verify your email address first.": "Silakan verifikasi alamat email Anda terlebih dahulu.",
    # request fields (http/schemas.py)
    "must be true: registering requires accepting the terms": (
        "harus bernilai true: pendaftaran memerlukan persetujuan atas syarat dan ketentuan"
    ),
    # password policy (domain/passwords.py)
    "is too common (it appears in lists of breached passwords); choose another": (
        "terlalu umum (terdapat dalam daftar kata sandi yang bocor). Silakan pilih kata sandi lain"
    ),
    "must not contain your email address": "tidak boleh memuat alamat email Anda",
    "must be at most 254 characters": "harus paling banyak 254 karakter",
    "is not a valid email address": "bukan alamat email yang valid",
    "must be an Indonesian mobile number starting with 08, 628 or +628": (
        "harus nomor ponsel Indonesia yang diawali 08, 628, atau +628"
    ),
    "must be {min} to {max} characters": "harus {min} sampai {max} karakter",
    "may contain only letters, spaces and . ' -": "hanya boleh berisi huruf, spasi, dan . ' -",
    "must contain letters": "harus mengandung huruf",
    "must be the 6-digit code from the email": "harus berupa 6 digit kode yang dikirim ke email Anda",
    "must be a date as YYYY-MM-DD": "harus berupa tanggal dengan format YYYY-MM-DD",
    "is not a real calendar date": "bukan tanggal yang ada di kalender",
    # NIK
    "is required: enter the 16 digits of your NIK": "wajib diisi: masukkan 16 digit NIK Anda",
    "must be the 16 digits only, without spaces, dots or dashes": (
        "harus berupa 16 digit angka saja, tanpa spasi, titik, atau tanda hubung"
    ),
    "must contain only the digits 0-9; position {position} is {kind}": (
        "hanya boleh berisi angka 0-9; karakter ke-{position} adalah {kind}"
    ),
    "must be exactly {length} digits; {given} were given": "harus tepat {length} digit; yang diisi {given} digit",
    "{date} is in the future": "{date} adalah tanggal yang belum terjadi",
    "{date} is before {earliest}": "{date} lebih awal dari {earliest}",
    "must be M or F": "harus M (laki-laki) atau F (perempuan)",
    "digits 1-2 ({code}) are not an Indonesian province code": (
        "digit ke-1 dan ke-2 ({code}) bukan kode provinsi di Indonesia"
    ),
    "digits 3-4 ({code}) are not a regency/city code of province {province} ({name})": (
        "digit ke-3 dan ke-4 ({code}) bukan kode kabupaten/kota di provinsi {province} ({name})"
    ),
    "digits 7-12 ({actual}) do not match birth date {date} for gender {gender}: expected {expected}": (
        "digit ke-7 sampai ke-12 ({actual}) tidak sesuai dengan tanggal lahir {date} "
        "untuk jenis kelamin {gender}: seharusnya {expected}"
    ),
    "digits 7-12 ({actual}) do not match birth date {date} for gender {gender}: expected {expected}"
    " (these digits are the form for gender {other}: 40 is added to the day of birth for women only;"
    " check the gender)": (
        "digit ke-7 sampai ke-12 ({actual}) tidak sesuai dengan tanggal lahir {date} "
        "untuk jenis kelamin {gender}: seharusnya {expected} (digit tersebut adalah bentuk untuk jenis "
        "kelamin {other}: tanggal lahir ditambah 40 hanya untuk perempuan; silakan periksa jenis kelamin)"
    ),
    "digits 13-16 (the serial number) cannot be 0000": "digit ke-13 sampai ke-16 (nomor urut) tidak boleh 0000",
    "A NIK check is already pending for this registration.": "Pemeriksaan NIK untuk pendaftaran ini sedang diproses.",
    "The NIK of this registration is already verified.": "NIK pada pendaftaran ini sudah terverifikasi.",
    "At most 5 NIK submissions a day: try again tomorrow.": (
        "NIK dapat dikirim paling banyak 5 kali sehari. Silakan coba lagi besok."
    ),
    "This NIK is already registered to another account.": "NIK ini sudah terdaftar pada akun lain.",
    # batches
    "No batch with this id.": "Gelombang dengan id ini tidak ditemukan.",
    "This batch has no seats left; choose another batch.": (
        "Kuota gelombang ini sudah penuh. Silakan pilih gelombang lain."
    ),
    "This registration already joined another batch.": "Pendaftaran ini sudah tergabung di gelombang lain.",
    "Missing: {steps}.": "Langkah yang belum selesai: {steps}.",
    "Too many people are joining this batch right now; please retry.": (
        "Saat ini banyak peserta yang sedang bergabung ke gelombang ini. Silakan coba lagi."
    ),
    "The seat counts could not be read; please retry.": "Jumlah kursi tidak dapat dibaca. Silakan coba lagi.",
    "must be 1 to 64 characters: letters, digits and _ . : -": "harus 1 sampai 64 karakter: huruf, angka, dan _ . : -",
    "must be 1 to {max} characters": "harus 1 sampai {max} karakter",
    "must be a whole number from 1 to {max}": "harus bilangan bulat dari 1 sampai {max}",
    "The batch could not be created; please retry.": "Gelombang tidak dapat dibuat. Silakan coba lagi.",
    "Batch {batch_id} already exists with name {name} and {seats} seats.": (
        "Gelombang {batch_id} sudah ada dengan nama {name} dan {seats} kursi."
    ),
}

# English phrases that arrive as a parameter of a message above -> Indonesian.
FRAGMENTS_ID: dict[str, str] = {
    "a digit from another script": "angka dari aksara lain",
    "a character that is not a digit": "karakter yang bukan angka",
    "NIK not verified": "NIK belum terverifikasi",
    "photo not accepted": "foto belum diterima",
}

# pydantic's built-in errors our request models can produce: error type -> (English template as
# pydantic_core words it, Indonesian). A test checks the English against the installed pydantic.
PYDANTIC_ID: dict[str, tuple[str, str]] = {
    "missing": ("Field required", "wajib diisi"),
    "extra_forbidden": ("Extra inputs are not permitted", "tidak dikenal; silakan hapus isian ini"),
    "string_type": ("Input should be a valid string", "harus berupa teks"),
    "string_unicode": (
        "Input should be a valid string, unable to parse raw data as a unicode string",
        "harus berupa teks",
    ),
    "int_type": ("Input should be a valid integer", "harus berupa bilangan bulat"),
    "int_from_float": (
        "Input should be a valid integer, got a number with a fractional part",
        "harus berupa bilangan bulat (tanpa pecahan)",
    ),
    "float_type": ("Input should be a valid number", "harus berupa angka"),
    "bool_type": ("Input should be a valid boolean", "harus bernilai true atau false"),
    "dict_type": ("Input should be a valid dictionary", "harus berupa objek JSON"),
    "model_type": ("Input should be a valid dictionary or instance of {class_name}", "harus berupa objek JSON"),
    "model_attributes_type": (
        "Input should be a valid dictionary or object to extract fields from",
        "harus berupa objek JSON",
    ),
    "list_type": ("Input should be a valid list", "harus berupa daftar (array JSON)"),
    "literal_error": ("Input should be {expected}", "harus bernilai {expected}"),
    "string_too_short": (
        "String should have at least {min_length} character{expected_plural}",
        "harus paling sedikit {min_length} karakter",
    ),
    "string_too_long": (
        "String should have at most {max_length} character{expected_plural}",
        "harus paling banyak {max_length} karakter",
    ),
    "string_pattern_mismatch": ("String should match pattern '{pattern}'", "formatnya tidak sesuai (pola: {pattern})"),
    "too_short": (
        "{field_type} should have at least {min_length} item{expected_plural} after validation, not {actual_length}",
        "harus berisi paling sedikit {min_length} item, bukan {actual_length}",
    ),
    "too_long": (
        "{field_type} should have at most {max_length} item{expected_plural} after validation, not {actual_length}",
        "harus berisi paling banyak {max_length} item, bukan {actual_length}",
    ),
    "greater_than": ("Input should be greater than {gt}", "harus lebih besar dari {gt}"),
    "greater_than_equal": ("Input should be greater than or equal to {ge}", "harus paling sedikit {ge}"),
    "less_than": ("Input should be less than {lt}", "harus lebih kecil dari {lt}"),
    "less_than_equal": ("Input should be less than or equal to {le}", "harus paling banyak {le}"),
}
FALLBACK_MESSAGE_ID = "tidak valid"  # a field message with no translation (the test forbids it)
