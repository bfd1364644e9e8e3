// Every word the client shows, in Bahasa Indonesia (default) and English.
// Static text: elements with data-i18n="key" (textContent) or data-i18n-attr="attr:key;attr:key".

export const LANGS = ["id", "en"];
export const TERMS_VERSION = "2026-11";

const STRINGS = {
  id: {
    "app.title": "Pendaftaran Kartu Prakerja",
    "app.skip": "Langsung ke isi",
    "lang.switch": "English",
    "lang.switchLabel": "Switch to English",
    "nav.steps": "Langkah pendaftaran",
    "common.required": "wajib diisi",
    "common.continue": "Lanjut",
    "common.back": "Kembali",
    "common.loading": "Memuat…",
    "common.sending": "Mengirim…",
    "common.fixErrors": "Periksa isian yang ditandai.",
    "common.serverSaid": "Pesan server: {msg}",

    "register.title": "Daftar",
    "register.intro": "Buat akun dengan email Anda. Kami mengirim kode 6 angka ke email itu.",
    "register.email": "Email",
    "register.emailInvalid": "Tulis alamat email yang lengkap, misalnya nama@contoh.com.",
    "register.password": "Kata sandi",
    "register.passwordHint": "8 sampai 128 karakter. Jangan memakai kata sandi yang umum.",
    "register.showPassword": "Tampilkan kata sandi",
    "register.fullName": "Nama lengkap",
    "register.fullNameHint": "Sesuai KTP: huruf, spasi dan . ' - saja.",
    "register.phone": "Nomor HP",
    "register.phoneHint": "Diawali 08, 628 atau +628.",
    "register.consent": "Saya telah membaca dan menyetujui Syarat & Ketentuan serta Kebijakan Privasi (versi {version}).",
    "register.termsSummary": "Ringkasan Syarat & Ketentuan dan Kebijakan Privasi",
    "register.termsText":
      "Data Anda (email, nomor HP, nama, NIK, foto) dipakai hanya untuk pendaftaran Kartu Prakerja dan verifikasi ke data kependudukan, sesuai UU No. 27 Tahun 2022 tentang Pelindungan Data Pribadi. Anda dapat melihat, mengunduh dan menghapus data Anda kapan saja dari halaman status.",
    "register.submit": "Daftar",
    "register.haveAccount": "Sudah punya akun?",
    "register.toSignIn": "Masuk",

    "verify.title": "Masukkan kode dari email",
    "verify.intro": "Kami mengirim kode 6 angka ke email Anda. Kode berlaku 15 menit.",
    "verify.code": "Kode 6 angka",
    "verify.submit": "Verifikasi",
    "verify.resend": "Kirim ulang kode",
    "verify.resendIn": "Kirim ulang kode ({seconds} dtk)",
    "verify.resent": "Kode baru sudah dikirim. Kode lama tidak berlaku lagi.",
    "verify.attemptsLeft": "Kode salah. Sisa percobaan: {n}.",
    "verify.noRegistration": "Kami tidak menemukan pendaftaran yang belum diverifikasi di perangkat ini. Masuk atau daftar lagi.",

    "signin.title": "Masuk",
    "signin.intro": "Masuk untuk melanjutkan pendaftaran Anda.",
    "signin.submit": "Masuk",
    "signin.forgot": "Lupa kata sandi?",
    "signin.noAccount": "Belum punya akun?",
    "signin.toRegister": "Daftar",
    "signin.notVerified": "Email Anda belum diverifikasi. Masukkan kode dari email, atau kirim ulang kode.",

    "reset.title": "Atur ulang kata sandi",
    "reset.intro": "Masukkan email akun Anda. Jika terdaftar, kami mengirim kode 6 angka.",
    "reset.request": "Kirim kode",
    "reset.sent": "Jika email itu terdaftar, kode sudah dikirim. Masukkan kode dan kata sandi baru.",
    "reset.newPassword": "Kata sandi baru",
    "reset.confirm": "Simpan kata sandi baru",
    "reset.unavailable": "Atur ulang kata sandi belum tersedia. Hubungi pusat layanan.",

    "nik.title": "Data kependudukan (NIK)",
    "nik.intro": "Isi sesuai KTP. Kami memeriksa susunan NIK saat Anda mengetik, lalu mencocokkannya dengan data Dukcapil.",
    "nik.nik": "NIK (16 angka)",
    "nik.fullName": "Nama lengkap sesuai KTP",
    "nik.birthDate": "Tanggal lahir",
    "nik.gender": "Jenis kelamin",
    "nik.male": "Laki-laki",
    "nik.female": "Perempuan",
    "nik.submit": "Kirim NIK",
    "nik.count": "{count} dari 16 angka",
    "nik.ok": "Susunan NIK sesuai.",
    "nik.explain": "Angka 1-2: provinsi, 3-4: kabupaten/kota, 5-6: kecamatan, 7-12: tanggal lahir (HHBBTT; perempuan: tanggal + 40), 13-16: nomor urut.",
    "nik.groupProvince": "Provinsi",
    "nik.groupRegency": "Kab/Kota",
    "nik.groupDistrict": "Kec.",
    "nik.groupBirth": "Tgl lahir",
    "nik.groupSerial": "No. urut",
    "nik.province": "Angka 1-2: {name}",
    "nik.birthDecoded": "Angka 7-12: lahir tanggal {day}-{month}-..{yy}, {gender}",
    "nik.err.separator": "Ketik 16 angka saja, tanpa spasi, titik atau tanda hubung (posisi {position}).",
    "nik.err.not-digit": "Posisi {position} bukan angka 0-9.",
    "nik.err.too-long": "NIK terdiri dari 16 angka; Anda mengetik {count}.",
    "nik.err.too-short": "Kurang {missing} angka lagi.",
    "nik.err.province": "Angka 1-2 ({digits}) bukan kode provinsi di Indonesia.",
    "nik.err.regency": "Angka 3-4 ({digits}) bukan kode kabupaten/kota di provinsi {province}.",
    "nik.err.birth-digits-invalid": "Angka 7-12 ({digits}) bukan tanggal lahir (HHBBTT, perempuan: tanggal + 40).",
    "nik.err.birth-digits": "Angka 7-12 ({digits}) tidak cocok dengan tanggal lahir: seharusnya {expected}.",
    "nik.err.birth-digits-gender":
      "Angka 7-12 ({digits}) adalah bentuk untuk jenis kelamin lain: tanggal lahir ditambah 40 hanya untuk perempuan. Periksa jenis kelamin.",
    "nik.err.serial": "Angka 13-16 (nomor urut) tidak boleh 0000.",
    "nik.birth.required": "Isi tanggal lahir.",
    "nik.birth.invalid": "Tanggal lahir tidak valid.",
    "nik.birth.future": "Tanggal lahir tidak boleh di masa depan.",
    "nik.birth.too-old": "Tanggal lahir tidak boleh sebelum 1900.",
    "nik.gender.required": "Pilih jenis kelamin.",
    "nik.name.required": "Isi nama lengkap.",
    "nik.rejected.MISMATCH": "Data tidak cocok dengan data kependudukan. Periksa nama, tanggal lahir dan jenis kelamin, lalu kirim lagi.",
    "nik.rejected.NOT_FOUND": "NIK tidak ditemukan di data kependudukan. Periksa NIK Anda, lalu kirim lagi.",

    "photo.title": "Foto diri",
    "photo.intro": "Ambil foto wajah Anda dengan kamera atau pilih file. Foto dikecilkan di perangkat ini sebelum dikirim (paling besar 2 MB, paling kecil 300×300 piksel).",
    "photo.input": "Foto (kamera atau file)",
    "photo.preview": "Pratinjau foto yang akan dikirim",
    "photo.submit": "Kirim foto",
    "photo.tooSmall": "Foto terlalu kecil ({width}×{height} piksel). Minimal 300×300 piksel: ambil foto baru atau pilih foto yang lebih besar.",
    "photo.notImage": "File ini tidak bisa dibaca sebagai gambar. Pilih foto JPEG atau PNG.",
    "photo.cannotShrink": "Foto tidak bisa dikecilkan sampai 2 MB. Pilih foto lain.",
    "photo.ready": "Siap dikirim: {width}×{height} piksel, {size}.",
    "photo.choose": "Pilih foto dulu.",
    "photo.uploading": "Mengunggah foto…",
    "photo.checking": "Foto terkirim. Sedang diperiksa…",
    "photo.uploadFailed": "Unggahan gagal. Coba lagi.",
    "photo.rejected.not-an-image": "Foto ditolak: file bukan gambar JPEG/PNG. Kirim foto lain.",
    "photo.rejected.too-large": "Foto ditolak: lebih dari 2 MB. Kirim foto lain.",
    "photo.rejected.too-small": "Foto ditolak: lebih kecil dari 300×300 piksel. Kirim foto lain.",
    "photo.rejected.other": "Foto ditolak. Kirim foto lain.",

    "batch.title": "Pilih gelombang",
    "batch.intro": "Pilih gelombang pelatihan yang masih memiliki kursi.",
    "batch.legend": "Gelombang",
    "batch.seats": "{left} dari {total} kursi tersisa",
    "batch.full": "Penuh",
    "batch.none": "Belum ada gelombang yang dibuka. Coba lagi nanti.",
    "batch.submit": "Ikut gelombang ini",
    "batch.choose": "Pilih satu gelombang.",
    "batch.refresh": "Muat ulang daftar",

    "status.title": "Status pendaftaran",
    "status.step.email": "Email terverifikasi",
    "status.step.nik": "NIK",
    "status.step.photo": "Foto",
    "status.step.batch": "Gelombang",
    "status.state.done": "Selesai",
    "status.state.pending": "Sedang diperiksa",
    "status.state.todo": "Belum",
    "status.state.rejected": "Ditolak",
    "status.nik.unavailable": "Data kependudukan sedang tidak bisa dihubungi; pemeriksaan akan diulang otomatis.",
    "status.polling": "Halaman ini diperbarui otomatis.",
    "status.next": "Lanjutkan",
    "status.joined": "Selamat! Anda terdaftar di gelombang {batch}.",
    "status.email": "Akun: {email}",
    "status.account": "Akun dan data pribadi",
    "status.myData": "Data pribadi saya",
    "status.signOut": "Keluar",
    "status.delete": "Hapus akun",

    "data.title": "Data pribadi saya",
    "data.intro": "Semua data pribadi yang kami simpan tentang Anda, dan riwayat pemrosesannya (UU PDP Pasal 32).",
    "data.download": "Unduh (JSON)",
    "data.processing": "Riwayat pemrosesan",
    "data.unavailable": "Fitur ini belum tersedia di server.",

    "delete.title": "Hapus akun",
    "delete.intro": "Semua data pribadi Anda akan dihapus dan tidak bisa dikembalikan. Kursi gelombang Anda dilepas. Masukkan kata sandi untuk konfirmasi.",
    "delete.submit": "Hapus akun saya",
    "delete.done": "Akun Anda sudah dihapus.",

    "signedOut": "Anda sudah keluar.",
    "session.expired": "Sesi Anda berakhir. Silakan masuk lagi.",

    "wait.busy": "Layanan sedang ramai. Kami mencoba lagi dalam {seconds} detik.",
    "wait.retryNow": "Coba sekarang",
    "wait.long": "Batas tercapai. Coba lagi {when}.",
    "wait.offline": "Tidak ada koneksi internet. Kami mencoba lagi dalam {seconds} detik.",

    "problem.email-taken": "Email ini sudah terdaftar. Silakan masuk, atau atur ulang kata sandi.",
    "problem.invalid-credentials": "Email atau kata sandi salah.",
    "problem.code-mismatch": "Kode salah.",
    "problem.code-expired": "Kode sudah kedaluwarsa. Minta kode baru.",
    "problem.too-many-attempts": "Terlalu banyak percobaan. Minta kode baru.",
    "problem.already-verified": "Email sudah diverifikasi. Silakan masuk.",
    "problem.resend-too-soon": "Tunggu sebentar sebelum meminta kode baru.",
    "problem.nik-taken": "NIK ini sudah dipakai oleh pendaftaran lain. Hubungi pusat layanan jika ini NIK Anda.",
    "problem.nik-already-submitted": "NIK sudah dikirim dan sedang/ sudah diperiksa.",
    "problem.not-eligible": "Belum bisa memilih gelombang: NIK harus terverifikasi dan foto diterima.",
    "problem.batch-full": "Gelombang ini sudah penuh. Pilih gelombang lain.",
    "problem.already-joined": "Anda sudah terdaftar di gelombang lain.",
    "problem.not-found": "Data tidak ditemukan.",
    "problem.generic": "Terjadi kesalahan ({status}). Coba lagi.",
    "problem.network": "Tidak bisa menghubungi server. Periksa koneksi Anda.",
  },
  en: {
    "app.title": "Kartu Prakerja registration",
    "app.skip": "Skip to content",
    "lang.switch": "Bahasa Indonesia",
    "lang.switchLabel": "Ganti ke Bahasa Indonesia",
    "nav.steps": "Registration steps",
    "common.required": "required",
    "common.continue": "Continue",
    "common.back": "Back",
    "common.loading": "Loading…",
    "common.sending": "Sending…",
    "common.fixErrors": "Please check the marked fields.",
    "common.serverSaid": "Server message: {msg}",

    "register.title": "Register",
    "register.intro": "Create an account with your email. We send a 6-digit code to that address.",
    "register.email": "Email",
    "register.emailInvalid": "Enter a complete email address, e.g. name@example.com.",
    "register.password": "Password",
    "register.passwordHint": "8 to 128 characters. Do not use a common password.",
    "register.showPassword": "Show password",
    "register.fullName": "Full name",
    "register.fullNameHint": "As on your ID card: letters, spaces and . ' - only.",
    "register.phone": "Mobile number",
    "register.phoneHint": "Starting with 08, 628 or +628.",
    "register.consent": "I have read and accept the Terms & Conditions and the Privacy Policy (version {version}).",
    "register.termsSummary": "Summary of the Terms & Conditions and Privacy Policy",
    "register.termsText":
      "Your data (email, mobile number, name, NIK, photo) is used only for the Kartu Prakerja registration and the check against the population registry, under Law No. 27 of 2022 on Personal Data Protection. You can view, download and delete your data at any time from the status page.",
    "register.submit": "Register",
    "register.haveAccount": "Already have an account?",
    "register.toSignIn": "Sign in",

    "verify.title": "Enter the code from the email",
    "verify.intro": "We sent a 6-digit code to your email. It is valid for 15 minutes.",
    "verify.code": "6-digit code",
    "verify.submit": "Verify",
    "verify.resend": "Send a new code",
    "verify.resendIn": "Send a new code ({seconds} s)",
    "verify.resent": "A new code was sent. The previous code no longer works.",
    "verify.attemptsLeft": "Wrong code. Attempts left: {n}.",
    "verify.noRegistration": "We found no unverified registration on this device. Sign in or register again.",

    "signin.title": "Sign in",
    "signin.intro": "Sign in to continue your registration.",
    "signin.submit": "Sign in",
    "signin.forgot": "Forgot your password?",
    "signin.noAccount": "No account yet?",
    "signin.toRegister": "Register",
    "signin.notVerified": "Your email is not verified yet. Enter the code from the email, or ask for a new one.",

    "reset.title": "Reset your password",
    "reset.intro": "Enter your account's email. If it is registered, we send a 6-digit code.",
    "reset.request": "Send code",
    "reset.sent": "If that email is registered, a code is on its way. Enter it with your new password.",
    "reset.newPassword": "New password",
    "reset.confirm": "Save the new password",
    "reset.unavailable": "Password reset is not available yet. Please contact the call centre.",

    "nik.title": "Population data (NIK)",
    "nik.intro": "As on your ID card. We check the NIK's structure as you type, then match it with the population registry.",
    "nik.nik": "NIK (16 digits)",
    "nik.fullName": "Full name as on your ID card",
    "nik.birthDate": "Date of birth",
    "nik.gender": "Gender",
    "nik.male": "Male",
    "nik.female": "Female",
    "nik.submit": "Submit NIK",
    "nik.count": "{count} of 16 digits",
    "nik.ok": "The NIK's structure is right.",
    "nik.explain": "Digits 1-2: province, 3-4: regency/city, 5-6: district, 7-12: birth date (DDMMYY; women: day + 40), 13-16: serial number.",
    "nik.groupProvince": "Province",
    "nik.groupRegency": "Regency",
    "nik.groupDistrict": "District",
    "nik.groupBirth": "Birth date",
    "nik.groupSerial": "Serial",
    "nik.province": "Digits 1-2: {name}",
    "nik.birthDecoded": "Digits 7-12: born on {day}-{month}-..{yy}, {gender}",
    "nik.err.separator": "Type the 16 digits only, without spaces, dots or dashes (position {position}).",
    "nik.err.not-digit": "Position {position} is not a digit 0-9.",
    "nik.err.too-long": "A NIK has 16 digits; you typed {count}.",
    "nik.err.too-short": "{missing} more digits to go.",
    "nik.err.province": "Digits 1-2 ({digits}) are not an Indonesian province code.",
    "nik.err.regency": "Digits 3-4 ({digits}) are not a regency/city code of {province}.",
    "nik.err.birth-digits-invalid": "Digits 7-12 ({digits}) are not a birth date (DDMMYY, women: day + 40).",
    "nik.err.birth-digits": "Digits 7-12 ({digits}) do not match the date of birth: expected {expected}.",
    "nik.err.birth-digits-gender":
      "Digits 7-12 ({digits}) are the form for the other gender: 40 is added to the day of birth for women only. Check the gender.",
    "nik.err.serial": "Digits 13-16 (the serial number) cannot be 0000.",
    "nik.birth.required": "Enter the date of birth.",
    "nik.birth.invalid": "This is not a valid date.",
    "nik.birth.future": "The date of birth cannot be in the future.",
    "nik.birth.too-old": "The date of birth cannot be before 1900.",
    "nik.gender.required": "Choose a gender.",
    "nik.name.required": "Enter your full name.",
    "nik.rejected.MISMATCH": "The data does not match the population registry. Check the name, date of birth and gender, then submit again.",
    "nik.rejected.NOT_FOUND": "The NIK was not found in the population registry. Check your NIK, then submit again.",

    "photo.title": "Your photo",
    "photo.intro": "Take a photo of your face with the camera or choose a file. It is made smaller on this device before it is sent (at most 2 MB, at least 300×300 pixels).",
    "photo.input": "Photo (camera or file)",
    "photo.preview": "Preview of the photo to be sent",
    "photo.submit": "Send photo",
    "photo.tooSmall": "The photo is too small ({width}×{height} pixels). It must be at least 300×300 pixels: take a new photo or choose a larger one.",
    "photo.notImage": "This file cannot be read as an image. Choose a JPEG or PNG photo.",
    "photo.cannotShrink": "The photo cannot be made smaller than 2 MB. Choose another photo.",
    "photo.ready": "Ready to send: {width}×{height} pixels, {size}.",
    "photo.choose": "Choose a photo first.",
    "photo.uploading": "Uploading the photo…",
    "photo.checking": "Photo sent. It is being checked…",
    "photo.uploadFailed": "The upload failed. Please try again.",
    "photo.rejected.not-an-image": "Photo rejected: the file is not a JPEG/PNG image. Send another photo.",
    "photo.rejected.too-large": "Photo rejected: larger than 2 MB. Send another photo.",
    "photo.rejected.too-small": "Photo rejected: smaller than 300×300 pixels. Send another photo.",
    "photo.rejected.other": "Photo rejected. Send another photo.",

    "batch.title": "Choose a batch",
    "batch.intro": "Choose a training batch that still has seats.",
    "batch.legend": "Batches",
    "batch.seats": "{left} of {total} seats left",
    "batch.full": "Full",
    "batch.none": "No batch is open yet. Please try again later.",
    "batch.submit": "Join this batch",
    "batch.choose": "Choose one batch.",
    "batch.refresh": "Reload the list",

    "status.title": "Registration status",
    "status.step.email": "Email verified",
    "status.step.nik": "NIK",
    "status.step.photo": "Photo",
    "status.step.batch": "Batch",
    "status.state.done": "Done",
    "status.state.pending": "Being checked",
    "status.state.todo": "Not yet",
    "status.state.rejected": "Rejected",
    "status.nik.unavailable": "The population registry cannot be reached right now; the check will be retried automatically.",
    "status.polling": "This page updates by itself.",
    "status.next": "Continue",
    "status.joined": "Congratulations! You are registered in batch {batch}.",
    "status.email": "Account: {email}",
    "status.account": "Account and personal data",
    "status.myData": "My personal data",
    "status.signOut": "Sign out",
    "status.delete": "Delete account",

    "data.title": "My personal data",
    "data.intro": "All personal data we hold about you, and its processing history (PDP Law Art. 32).",
    "data.download": "Download (JSON)",
    "data.processing": "Processing history",
    "data.unavailable": "This feature is not available on the server yet.",

    "delete.title": "Delete account",
    "delete.intro": "All your personal data will be erased and cannot be restored. Your batch seat is given back. Enter your password to confirm.",
    "delete.submit": "Delete my account",
    "delete.done": "Your account has been deleted.",

    "signedOut": "You are signed out.",
    "session.expired": "Your session has ended. Please sign in again.",

    "wait.busy": "The service is busy. We will try again in {seconds} seconds.",
    "wait.retryNow": "Try now",
    "wait.long": "Limit reached. Please try again {when}.",
    "wait.offline": "No internet connection. We will try again in {seconds} seconds.",

    "problem.email-taken": "This email is already registered. Sign in, or reset your password.",
    "problem.invalid-credentials": "Wrong email or password.",
    "problem.code-mismatch": "Wrong code.",
    "problem.code-expired": "The code has expired. Ask for a new one.",
    "problem.too-many-attempts": "Too many attempts. Ask for a new code.",
    "problem.already-verified": "The email is already verified. Please sign in.",
    "problem.resend-too-soon": "Please wait a moment before asking for a new code.",
    "problem.nik-taken": "This NIK is already used by another registration. Contact the call centre if it is yours.",
    "problem.nik-already-submitted": "The NIK was already submitted and is being or has been checked.",
    "problem.not-eligible": "You cannot choose a batch yet: the NIK must be verified and the photo accepted.",
    "problem.batch-full": "This batch is full. Choose another one.",
    "problem.already-joined": "You already joined another batch.",
    "problem.not-found": "Not found.",
    "problem.generic": "Something went wrong ({status}). Please try again.",
    "problem.network": "The server cannot be reached. Check your connection.",
  },
};

let current = "id";

export function lang() {
  return current;
}

export function setLang(value) {
  current = LANGS.includes(value) ? value : "id";
  document.documentElement.lang = current;
  document.title = t("app.title");
  applyStatic(document);
}

/** The Accept-Language header for the API: the chosen language first. */
export function acceptLanguage() {
  return current === "id" ? "id-ID, id;q=0.9, en;q=0.5" : "en, id;q=0.5";
}

export function has(key) {
  return key in STRINGS[current];
}

export function t(key, params = {}) {
  const text = STRINGS[current][key] ?? STRINGS.id[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

export function applyStatic(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n, { version: TERMS_VERSION });
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

export function formatBytes(n) {
  const unit = n >= 1024 * 1024 ? [1024 * 1024, "MB"] : [1024, "KB"];
  return `${(n / unit[0]).toLocaleString(current === "id" ? "id-ID" : "en-GB", { maximumFractionDigits: 1 })} ${unit[1]}`;
}

export function formatWhen(date) {
  return date.toLocaleString(current === "id" ? "id-ID" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export const STRINGS_FOR_TESTS = STRINGS;
