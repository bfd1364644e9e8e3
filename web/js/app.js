// The reference web client: one page, one screen at a time (location.hash), the registration
// status decides where a person resumes. No framework, no build step, no third-party code.

import { ApiError, NetworkError, MAX_AUTO_WAIT_S, createApi, uploadPresigned } from "./api.js";
import { TERMS_VERSION, acceptLanguage, applyStatic, formatBytes, formatWhen, has, lang, setLang, t } from "./i18n.js";
import { checkBirthDate, checkNik, loadRegions, todayInIndonesia } from "./nik.js";
import { PhotoProblem, preparePhoto } from "./photo.js";

const SCREENS = ["register", "verify", "signin", "reset", "nik", "photo", "batch", "status", "data", "delete", "loading"];
const NEEDS_SESSION = new Set(["nik", "photo", "batch", "status", "data", "delete"]);
const POLL_MS = 3000;
const PHOTO_WAIT_MS = 30000;
const SESSION_KEY = "prakerja.session";
const PENDING_KEY = "prakerja.pending"; // {sha256(email): registration_id} of unverified registrations
const LANG_KEY = "prakerja.lang";

const $ = (selector, root = document) => root.querySelector(selector);
const state = {
  api: null,
  regions: null,
  registration: null,
  verifyId: sessionStorage.getItem("prakerja.verify") || "",
  resetEmail: "",
  pollTimer: 0,
  consentAccepted: true, // false once the API answered that it does not know `consent` (before issue 9)
  photo: null,
  notices: {},
  batchNames: {}, // batch_id -> name, from GET /batches
};

// -- session ------------------------------------------------------------------------------------
function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (s && s.token && s.registrationId && s.expiresAt > Date.now()) return s;
  } catch {
    /* unreadable: treat as signed out */
  }
  return null;
}

function saveSession(body) {
  const s = {
    registrationId: body.registration_id,
    token: body.access_token,
    expiresAt: Date.now() + (Number(body.expires_in) || 3600) * 1000 - 10000,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  return s;
}

function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
  state.registration = null;
  stopPolling();
}

/** A random Idempotency-Key (getRandomValues also works outside secure contexts). */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function emailKey(email) {
  if (!crypto.subtle) return ""; // plain-http origin other than localhost: nothing remembered
  const data = new TextEncoder().encode(email.trim().toLowerCase());
  const digest = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function rememberPending(email, registrationId) {
  const key = await emailKey(email);
  if (!key) return;
  const pending = JSON.parse(localStorage.getItem(PENDING_KEY) || "{}");
  pending[key] = registrationId;
  localStorage.setItem(PENDING_KEY, JSON.stringify(pending));
}

async function pendingFor(email) {
  const key = await emailKey(email);
  const pending = JSON.parse(localStorage.getItem(PENDING_KEY) || "{}");
  return (key && pending[key]) || "";
}

function forgetPending(registrationId) {
  const pending = JSON.parse(localStorage.getItem(PENDING_KEY) || "{}");
  for (const [k, v] of Object.entries(pending)) if (v === registrationId) delete pending[k];
  localStorage.setItem(PENDING_KEY, JSON.stringify(pending));
}

function setVerifyId(id) {
  state.verifyId = id;
  if (id) sessionStorage.setItem("prakerja.verify", id);
  else sessionStorage.removeItem("prakerja.verify");
}

// -- waiting (429/503/offline): one calm countdown for the whole page ----------------------------
let waiting = null;

function wait(seconds, reason) {
  if (waiting) {
    waiting.remaining = Math.max(waiting.remaining, Math.ceil(seconds));
    return waiting.promise;
  }
  const box = $("#wait");
  const text = $("#wait-text");
  const w = { remaining: Math.ceil(seconds), reason };
  w.promise = new Promise((resolve) => {
    const finish = () => {
      clearInterval(w.timer);
      box.hidden = true;
      $("#wait-live").textContent = "";
      $("#wait-now").onclick = null;
      waiting = null;
      resolve();
    };
    const render = () => {
      text.textContent = t(w.reason === "offline" ? "wait.offline" : "wait.busy", { seconds: w.remaining });
    };
    render();
    $("#wait-live").textContent = text.textContent;
    box.hidden = false;
    w.timer = setInterval(() => {
      w.remaining -= 1;
      if (w.remaining <= 0) finish();
      else render();
    }, 1000);
    $("#wait-now").onclick = finish;
    w.render = render;
  });
  waiting = w;
  return w.promise;
}

// -- screens ------------------------------------------------------------------------------------
function currentScreen() {
  const name = location.hash.replace(/^#\/?/, "");
  return SCREENS.includes(name) ? name : "";
}

function go(screen, { notice } = {}) {
  if (notice) state.notices[screen] = notice;
  if (currentScreen() === screen) show(screen);
  else location.hash = `#${screen}`;
}

async function show(screen) {
  stopPolling();
  if (NEEDS_SESSION.has(screen) && !session()) {
    if (screen !== "signin") state.notices.signin = state.notices.signin || (sessionStorage.getItem(SESSION_KEY) ? "session.expired" : "");
    clearSession();
    screen = "signin";
    history.replaceState(null, "", "#signin");
  }
  for (const section of document.querySelectorAll("[data-screen]")) section.hidden = section.dataset.screen !== screen;
  const section = $(`[data-screen="${screen}"]`);
  const heading = $("h1", section);
  document.title = `${heading.textContent} · ${t("app.title")}`;
  heading.focus();
  const enter = ENTER[screen];
  if (enter) {
    try {
      await enter(section);
    } catch (err) {
      showError(`#${screen}-error`, err);
    }
  }
}

/** Where a signed-in person continues, from their registration's status. */
function screenFor(reg) {
  if (reg.batch_id) return "status";
  if (reg.nik_status === "NONE" || reg.nik_status === "REJECTED") return "nik";
  if (reg.photo_status === "NONE" || reg.photo_status === "REJECTED") return "photo";
  if (reg.nik_status === "VERIFIED" && reg.photo_status === "ACCEPTED") return "batch";
  return "status";
}

async function loadRegistration() {
  const s = session();
  state.registration = await state.api.registration(s.registrationId);
  return state.registration;
}

async function resume() {
  const reg = await loadRegistration();
  go(screenFor(reg));
}

function takeNotice(screen, selector) {
  const key = state.notices[screen];
  delete state.notices[screen];
  $(selector).textContent = key ? t(key) : "";
}

// -- errors -------------------------------------------------------------------------------------
function clearErrors(form) {
  for (const el of form.querySelectorAll(".error, .form-error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function fieldError(prefix, field, message) {
  const box = $(`#${prefix}-${field}-error`);
  const input = $(`#${prefix}-${field}`);
  if (!box) return false;
  box.textContent = message;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    linkDescription(input, box.id);
  }
  return true;
}

function linkDescription(input, id) {
  const ids = new Set((input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean));
  ids.add(id);
  input.setAttribute("aria-describedby", [...ids].join(" "));
}

function focusFirstInvalid(form) {
  const first = form.querySelector("[aria-invalid='true']");
  if (first) first.focus();
}

/** The words for an API problem: our own for known types, the server's when it speaks our language. */
function problemText(err) {
  if (err instanceof NetworkError) return t("problem.network");
  if (!(err instanceof ApiError)) return t("problem.generic", { status: "?" });
  if (err.retryAfterS !== null && err.retryAfterS > MAX_AUTO_WAIT_S) {
    return `${t(`problem.${err.type}`)} ${t("wait.long", { when: formatWhen(new Date(Date.now() + err.retryAfterS * 1000)) })}`;
  }
  if (has(`problem.${err.type}`)) return t(`problem.${err.type}`);
  if (err.language.startsWith(lang()) && err.problem.detail) return err.problem.detail;
  return t("problem.generic", { status: err.status });
}

/** Shows an error under the form (and 422 field errors under their fields). */
function showError(selector, err, { form = null, prefix = "" } = {}) {
  const box = $(selector);
  if (err instanceof ApiError && err.status === 401 && session()) {
    clearSession();
    go("signin", { notice: "session.expired" });
    return;
  }
  if (err instanceof ApiError && err.status === 422 && form) {
    const sameLanguage = err.language.startsWith(lang());
    let placed = 0;
    for (const { field, message } of err.fieldErrors) {
      const text = sameLanguage ? message : t("common.serverSaid", { msg: message });
      if (fieldError(prefix, field, text)) placed += 1;
    }
    if (box) box.textContent = t("common.fixErrors");
    if (placed) focusFirstInvalid(form);
    return;
  }
  if (!(err instanceof ApiError) && !(err instanceof NetworkError)) console.error(err);
  if (box) box.textContent = problemText(err);
}

async function busy(form, action) {
  const button = form.querySelector("button[type=submit]");
  if (button.dataset.busy) return;
  button.dataset.busy = "1";
  button.setAttribute("aria-busy", "true");
  try {
    await action();
  } finally {
    delete button.dataset.busy;
    button.removeAttribute("aria-busy");
  }
}

// -- register -----------------------------------------------------------------------------------
function validateRegistration(form) {
  let ok = true;
  const email = form.email.value.trim();
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) ok = fieldError("reg", "email", t("register.emailInvalid")) && false;
  if (form.password.value.length < 8 || form.password.value.length > 128) ok = fieldError("reg", "password", t("register.passwordHint")) && false;
  if (!/^[\p{L} .'-]*\p{L}[\p{L} .'-]*$/u.test(form.full_name.value.trim())) ok = fieldError("reg", "full_name", t("register.fullNameHint")) && false;
  if (!/^(\+?62|0)8[0-9\s-]{8,14}$/.test(form.phone.value.trim())) ok = fieldError("reg", "phone", t("register.phoneHint")) && false;
  if (!form.consent.checked) ok = fieldError("reg", "consent", t("common.required")) && false;
  return ok;
}

async function submitRegistration(form) {
  clearErrors(form);
  if (!validateRegistration(form)) {
    $("#register-error").textContent = t("common.fixErrors");
    focusFirstInvalid(form);
    return;
  }
  const body = {
    email: form.email.value.trim(),
    password: form.password.value,
    full_name: form.full_name.value.trim(),
    phone: form.phone.value.trim(),
    consent: { terms_version: TERMS_VERSION, accepted: true },
  };
  let result;
  try {
    result = await registerCompatibly(body);
  } catch (err) {
    showError("#register-error", err, { form, prefix: "reg" });
    return;
  }
  await rememberPending(body.email, result.registration_id);
  setVerifyId(result.registration_id);
  form.reset();
  go("verify");
}

/**
 * The consent is sent as the contract requires (issue 9). An API from before that change rejects
 * unknown fields with a 422 naming only `consent`; as the consent we send is always well-formed,
 * that answer can only mean "not known here", so the same registration is sent once without it.
 */
async function registerCompatibly(body) {
  if (!state.consentAccepted) {
    const { consent, ...rest } = body;
    return state.api.register(rest, newKey());
  }
  try {
    return await state.api.register(body, newKey());
  } catch (err) {
    const fields = err instanceof ApiError && err.status === 422 ? err.fieldErrors.map((e) => e.field) : [];
    if (fields.length && fields.every((f) => f === "consent" || f.startsWith("consent."))) {
      state.consentAccepted = false;
      const { consent, ...rest } = body;
      return state.api.register(rest, newKey());
    }
    throw err;
  }
}

// -- verify -------------------------------------------------------------------------------------
let resendTimer = 0;

function resendCountdown(seconds) {
  const button = $("#resend");
  clearInterval(resendTimer);
  let left = Math.ceil(seconds);
  const tick = () => {
    if (left <= 0) {
      clearInterval(resendTimer);
      button.removeAttribute("aria-disabled");
      button.textContent = t("verify.resend");
      return;
    }
    button.setAttribute("aria-disabled", "true");
    button.textContent = t("verify.resendIn", { seconds: left });
    left -= 1;
  };
  tick();
  resendTimer = setInterval(tick, 1000);
}

async function submitCode(form) {
  clearErrors(form);
  $("#verify-notice").textContent = "";
  const code = form.code.value.replace(/\s/g, "");
  if (!/^\d{6}$/.test(code)) {
    fieldError("verify", "code", t("verify.code"));
    focusFirstInvalid(form);
    return;
  }
  try {
    const body = await state.api.verifyEmail(state.verifyId, code);
    saveSession(body);
    forgetPending(state.verifyId);
    setVerifyId("");
    form.reset();
    await resume();
  } catch (err) {
    if (err instanceof ApiError && err.type === "code-mismatch") {
      fieldError("verify", "code", t("verify.attemptsLeft", { n: err.problem.attempts_left ?? "?" }));
      focusFirstInvalid(form);
    } else if (err instanceof ApiError && err.type === "already-verified") {
      setVerifyId("");
      go("signin", { notice: "problem.already-verified" });
    } else {
      showError("#verify-error", err, { form, prefix: "verify" });
    }
  }
}

async function resend() {
  const button = $("#resend");
  if (button.getAttribute("aria-disabled") === "true") return;
  $("#verify-error").textContent = "";
  try {
    await state.api.resendCode(state.verifyId);
    $("#verify-notice").textContent = t("verify.resent");
    resendCountdown(60);
  } catch (err) {
    if (err instanceof ApiError && err.type === "resend-too-soon" && err.retryAfterS !== null && err.retryAfterS <= MAX_AUTO_WAIT_S) {
      resendCountdown(err.retryAfterS);
    } else {
      showError("#verify-error", err);
    }
  }
}

// -- sign in ------------------------------------------------------------------------------------
async function submitSignIn(form) {
  clearErrors(form);
  const email = form.email.value.trim();
  if (!email || !form.password.value) {
    if (!email) fieldError("signin", "email", t("common.required"));
    if (!form.password.value) fieldError("signin", "password", t("common.required"));
    focusFirstInvalid(form);
    return;
  }
  try {
    const body = await state.api.signIn(email, form.password.value);
    saveSession(body);
    forgetPending(body.registration_id);
    form.reset();
    await resume();
  } catch (err) {
    if (err instanceof ApiError && err.type === "email-not-verified") {
      // The contract (issue 9) puts registration_id in this answer; before it, this device may know it.
      const id = err.problem.registration_id || (await pendingFor(email));
      if (id) {
        setVerifyId(id);
        go("verify", { notice: "signin.notVerified" });
      } else {
        $("#signin-error").textContent = t("verify.noRegistration");
      }
      return;
    }
    showError("#signin-error", err, { form, prefix: "signin" });
  }
}

// -- password reset (issue 9) ---------------------------------------------------------------------
function routeMissing(err) {
  // Before the route exists the gateway answers 404 (unknown path) or 405 (known path, other method).
  return err instanceof ApiError && (err.status === 405 || (err.status === 404 && (err.type === "not-found" || !err.type)));
}

async function submitResetRequest(form) {
  clearErrors(form);
  const email = form.email.value.trim();
  if (!email) {
    fieldError("reset", "email", t("common.required"));
    focusFirstInvalid(form);
    return;
  }
  try {
    await state.api.requestPasswordReset(email);
    state.resetEmail = email;
    const confirm = $("#reset-confirm-form");
    confirm.hidden = false;
    $("#reset-notice").textContent = t("reset.sent");
    $("#reset-code").focus();
  } catch (err) {
    if (routeMissing(err)) $("#reset-request-error").textContent = t("reset.unavailable");
    else showError("#reset-request-error", err, { form, prefix: "reset" });
  }
}

async function submitResetConfirm(form) {
  clearErrors(form);
  try {
    const body = await state.api.confirmPasswordReset(state.resetEmail, form.code.value.trim(), form.new_password.value);
    saveSession(body);
    forgetPending(body.registration_id);
    form.reset();
    form.hidden = true;
    await resume();
  } catch (err) {
    if (err instanceof ApiError && err.type === "code-mismatch") {
      fieldError("reset", "code", t("verify.attemptsLeft", { n: err.problem.attempts_left ?? "?" }));
      focusFirstInvalid(form);
    } else {
      showError("#reset-confirm-error", err, { form, prefix: "reset" });
    }
  }
}

// -- NIK ------------------------------------------------------------------------------------------
const GROUPS = [
  ["nik.groupProvince", 0, 2],
  ["nik.groupRegency", 2, 4],
  ["nik.groupDistrict", 4, 6],
  ["nik.groupBirth", 6, 12],
  ["nik.groupSerial", 12, 16],
];

function nikInput() {
  const form = $("#nik-form");
  return {
    nik: form.nik.value,
    birthDate: form.birth_date.value,
    gender: form.gender.value,
    fullName: form.full_name.value.trim(),
  };
}

function renderNik() {
  const { nik, birthDate, gender } = nikInput();
  const result = checkNik(nik, { birthDate, gender, regions: state.regions });
  const bad = new Set(result.problems.flatMap((p) => p.positions));
  const digits = $("#nik-digits");
  digits.replaceChildren(
    ...GROUPS.map(([label, from, to]) => {
      const group = document.createElement("span");
      group.className = "group";
      const cells = document.createElement("span");
      cells.className = "cells";
      for (let i = from; i < to; i++) {
        const cell = document.createElement("span");
        cell.className = "cell" + (i < nik.length ? " filled" : "") + (bad.has(i + 1) ? " bad" : "");
        cell.textContent = nik[i] ?? "";
        cells.append(cell);
      }
      const caption = document.createElement("span");
      caption.className = "caption";
      caption.textContent = t(label);
      group.append(cells, caption);
      return group;
    }),
  );
  $("#nik-count").textContent = t("nik.count", { count: Math.min(nik.length, 99) });
  const lines = [];
  if (result.info.province) lines.push(line("info", t("nik.province", { name: result.info.province.name })));
  if (result.info.birth) {
    const b = result.info.birth;
    lines.push(
      line("info", t("nik.birthDecoded", { day: pad2(b.day), month: pad2(b.month), yy: b.yy, gender: t(b.gender === "F" ? "nik.female" : "nik.male").toLowerCase() })),
    );
  }
  for (const p of result.problems) if (p.code !== "too-short") lines.push(line("problem", t(`nik.err.${p.code}`, p.params)));
  if (result.complete) lines.push(line("ok", t("nik.ok")));
  const feedback = $("#nik-feedback");
  const words = lines.map((l) => l.className + l.textContent).join("|");
  if (feedback.dataset.words !== words) {
    feedback.dataset.words = words; // the live region changes (and is read) only when its words do
    feedback.replaceChildren(...lines);
  }
  return result;
}

function line(kind, text) {
  const p = document.createElement("p");
  p.className = kind;
  p.textContent = text;
  return p;
}

function pad2(n) {
  return String(n).padStart(2, "0");
}

async function submitNik(form) {
  clearErrors(form);
  const input = nikInput();
  const result = renderNik();
  const birthProblem = checkBirthDate(input.birthDate, todayInIndonesia());
  let ok = true;
  if (!input.fullName) ok = fieldError("nik", "full_name", t("nik.name.required")) && false;
  if (birthProblem) ok = fieldError("nik", "birth_date", t(`nik.birth.${birthProblem}`)) && false;
  if (!input.gender) {
    $("#nik-gender-error").textContent = t("nik.gender.required");
    ok = false;
  }
  if (!result.complete) {
    const first = result.problems.find((p) => p.code !== "too-short") || result.problems[0];
    ok = fieldError("nik", "nik", t(`nik.err.${first.code}`, first.params)) && false;
  }
  if (!ok) {
    $("#nik-error").textContent = t("common.fixErrors");
    const firstInvalid = form.querySelector("[aria-invalid='true']") || (!input.gender ? $("#nik-gender-m") : null);
    if (firstInvalid) firstInvalid.focus();
    return;
  }
  try {
    await state.api.submitNik(session().registrationId, {
      nik: input.nik,
      full_name: input.fullName,
      birth_date: input.birthDate,
      gender: input.gender,
    });
    form.nik.value = "";
    await resume();
  } catch (err) {
    if (err instanceof ApiError && err.type === "nik-already-submitted") await resume();
    else showError("#nik-error", err, { form, prefix: "nik" });
  }
}

// -- photo ----------------------------------------------------------------------------------------
async function choosePhoto(input) {
  const form = $("#photo-form");
  clearErrors(form);
  $("#photo-notice").textContent = "";
  const figure = $("#photo-figure");
  if (state.photo) URL.revokeObjectURL(state.photo.url);
  state.photo = null;
  figure.hidden = true;
  const file = input.files && input.files[0];
  if (!file) return;
  try {
    const prepared = await preparePhoto(file);
    state.photo = { ...prepared, url: URL.createObjectURL(prepared.blob) };
    $("#photo-preview").src = state.photo.url;
    $("#photo-info").textContent = t("photo.ready", { width: prepared.width, height: prepared.height, size: formatBytes(prepared.blob.size) });
    figure.hidden = false;
  } catch (err) {
    const key = err instanceof PhotoProblem ? { "not-image": "photo.notImage", "too-small": "photo.tooSmall", "cannot-shrink": "photo.cannotShrink" }[err.code] : "photo.notImage";
    fieldError("photo", "file", t(key, err.params || {}));
    input.value = "";
  }
}

async function submitPhoto(form) {
  clearErrors(form);
  if (!state.photo) {
    fieldError("photo", "file", t("photo.choose"));
    focusFirstInvalid(form);
    return;
  }
  const id = session().registrationId;
  const before = state.registration ? state.registration.photo_status : "NONE";
  const notice = $("#photo-notice");
  try {
    notice.textContent = t("photo.uploading");
    const post = await state.api.photoUpload(id, "image/jpeg");
    if (!(await uploadPresigned(post, state.photo.blob, "foto.jpg"))) {
      notice.textContent = "";
      $("#photo-error").textContent = t("photo.uploadFailed");
      return;
    }
    notice.textContent = t("photo.checking");
    const started = Date.now();
    let reg = await loadRegistration();
    while ((reg.photo_status === before || reg.photo_status === "PENDING" || reg.photo_status === "NONE") && Date.now() - started < PHOTO_WAIT_MS) {
      await sleep(1000);
      reg = await loadRegistration();
    }
    notice.textContent = "";
    if (reg.photo_status === "REJECTED") {
      $("#photo-error").textContent = t(has(`photo.rejected.${reg.photo_reason}`) ? `photo.rejected.${reg.photo_reason}` : "photo.rejected.other");
      return;
    }
    URL.revokeObjectURL(state.photo.url);
    state.photo = null;
    form.reset();
    $("#photo-figure").hidden = true;
    go(screenFor(reg));
  } catch (err) {
    notice.textContent = "";
    if (err instanceof TypeError) $("#photo-error").textContent = t("photo.uploadFailed");
    else showError("#photo-error", err, { form, prefix: "photo" });
  }
}

// -- batch ----------------------------------------------------------------------------------------
async function renderBatches() {
  const list = $("#batch-list");
  const { batches } = await state.api.batches();
  for (const b of batches) state.batchNames[b.batch_id] = b.name;
  const legend = $("legend", list);
  const items = batches.map((b) => {
    const label = document.createElement("label");
    label.className = "batch";
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "batch_id";
    radio.value = b.batch_id;
    radio.disabled = b.seats_left <= 0;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = b.name;
    const seats = document.createElement("span");
    seats.className = "seats";
    seats.textContent = b.seats_left > 0 ? t("batch.seats", { left: b.seats_left, total: b.seats_total }) : t("batch.full");
    label.append(radio, " ", name, seats);
    return label;
  });
  if (!items.length) items.push(line("hint", t("batch.none")));
  list.replaceChildren(legend, ...items);
}

async function submitBatch(form) {
  clearErrors(form);
  const choice = form.querySelector("input[name=batch_id]:checked");
  if (!choice) {
    $("#batch-list-error").textContent = t("batch.choose");
    const first = form.querySelector("input[name=batch_id]:not(:disabled)");
    if (first) first.focus();
    return;
  }
  try {
    await state.api.joinBatch(session().registrationId, choice.value);
    await resume();
  } catch (err) {
    showError("#batch-error", err, { form, prefix: "batch" });
    if (err instanceof ApiError && err.type === "batch-full") await renderBatches();
  }
}

// -- status ---------------------------------------------------------------------------------------
function stepState(done, pending, rejected) {
  if (done) return "done";
  if (rejected) return "rejected";
  if (pending) return "pending";
  return "todo";
}

let lastStatus = "";

function renderStatus(reg, { force = false } = {}) {
  const key = JSON.stringify([lang(), reg, state.batchNames[reg.batch_id] || ""]);
  const pending = reg.nik_status === "PENDING" || reg.photo_status === "PENDING";
  if (key === lastStatus && !force) return pending; // unchanged: nothing re-announced
  lastStatus = key;
  $("#status-account").textContent = t("status.email", { email: reg.email || "" });
  const steps = [
    ["status.step.email", stepState(reg.email_verified, false, false)],
    ["status.step.nik", stepState(reg.nik_status === "VERIFIED", reg.nik_status === "PENDING", reg.nik_status === "REJECTED")],
    ["status.step.photo", stepState(reg.photo_status === "ACCEPTED", reg.photo_status === "PENDING", reg.photo_status === "REJECTED")],
    ["status.step.batch", stepState(Boolean(reg.batch_id), false, false)],
  ];
  $("#status-steps").replaceChildren(
    ...steps.map(([label, st]) => {
      const li = document.createElement("li");
      li.className = `step ${st}`;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = t(label);
      const value = document.createElement("span");
      value.className = "state";
      value.textContent = t(`status.state.${st}`);
      li.append(name, value);
      return li;
    }),
  );
  const messages = [];
  if (reg.batch_id) messages.push(t("status.joined", { batch: state.batchNames[reg.batch_id] || reg.batch_id }));
  if (reg.nik_status === "PENDING" && reg.nik_reason === "UNAVAILABLE") messages.push(t("status.nik.unavailable"));
  if (reg.nik_status === "REJECTED" && reg.nik_reason) messages.push(t(`nik.rejected.${reg.nik_reason}`));
  if (reg.photo_status === "REJECTED") messages.push(t(has(`photo.rejected.${reg.photo_reason}`) ? `photo.rejected.${reg.photo_reason}` : "photo.rejected.other"));
  $("#status-message").textContent = messages.join(" ");
  const next = screenFor(reg);
  const button = $("#status-next");
  button.hidden = next === "status";
  button.onclick = () => go(next);
  $("#status-polling").hidden = !pending;
  return pending;
}

function stopPolling() {
  clearTimeout(state.pollTimer);
  state.pollTimer = 0;
}

async function pollStatus(first = false) {
  stopPolling();
  if (first) lastStatus = "";
  if (currentScreen() !== "status" || !session()) return;
  try {
    const reg = await loadRegistration();
    if (reg.batch_id && !state.batchNames[reg.batch_id]) {
      try {
        for (const b of (await state.api.batches()).batches) state.batchNames[b.batch_id] = b.name;
      } catch {
        /* the id is shown instead */
      }
    }
    if (currentScreen() !== "status") return;
    if (renderStatus(reg)) state.pollTimer = setTimeout(pollStatus, POLL_MS);
  } catch (err) {
    showError("#status-error", err);
    state.pollTimer = setTimeout(pollStatus, POLL_MS * 3);
  }
}

async function signOut() {
  try {
    await state.api.signOut();
  } catch (err) {
    // Before issue 9 there is no server-side sign-out: forgetting the token here is all there is.
    if (!routeMissing(err) && !(err instanceof ApiError && err.status === 401)) {
      showError("#status-error", err);
      return;
    }
  }
  clearSession();
  go("signin", { notice: "signedOut" });
}

// -- personal data and deletion (issue 9) ---------------------------------------------------------
async function renderPersonalData() {
  const fields = $("#data-fields");
  const processing = $("#data-processing");
  const link = $("#data-download");
  fields.replaceChildren();
  processing.replaceChildren();
  link.hidden = true;
  let data;
  try {
    data = await state.api.personalData(session().registrationId);
  } catch (err) {
    if (routeMissing(err)) $("#data-error").textContent = t("data.unavailable");
    else showError("#data-error", err);
    return;
  }
  for (const [key, value] of Object.entries(data)) {
    if (key === "processing") continue;
    const dt = document.createElement("dt");
    dt.textContent = key;
    const dd = document.createElement("dd");
    dd.textContent = value !== null && typeof value === "object" ? JSON.stringify(value) : String(value ?? "—");
    fields.append(dt, dd);
  }
  for (const event of data.processing || []) {
    const li = document.createElement("li");
    const when = event.at || event.timestamp || event.time || "";
    li.textContent = `${when} ${event.event || event.type || event.name || JSON.stringify(event)}`.trim();
    processing.append(li);
  }
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  link.hidden = false;
}

async function submitDelete(form) {
  clearErrors(form);
  if (!form.password.value) {
    fieldError("delete", "password", t("common.required"));
    focusFirstInvalid(form);
    return;
  }
  try {
    await state.api.deleteRegistration(session().registrationId, form.password.value);
  } catch (err) {
    if (routeMissing(err)) $("#delete-error").textContent = t("data.unavailable");
    else if (err instanceof ApiError && err.type === "invalid-credentials") fieldError("delete", "password", t("problem.invalid-credentials"));
    else showError("#delete-error", err, { form, prefix: "delete" });
    return;
  }
  form.reset();
  clearSession();
  go("register", { notice: "delete.done" });
}

// -- screen entry ---------------------------------------------------------------------------------
const ENTER = {
  register: () => takeNotice("register", "#register-error"),
  signin: () => takeNotice("signin", "#signin-notice"),
  verify: () => {
    takeNotice("verify", "#verify-notice");
    if (!state.verifyId) $("#verify-error").textContent = t("verify.noRegistration");
  },
  reset: () => {
    $("#reset-confirm-form").hidden = !state.resetEmail;
  },
  nik: async () => {
    const reg = await loadRegistration();
    const rejected = $("#nik-rejected");
    rejected.textContent = reg.nik_status === "REJECTED" && reg.nik_reason ? t(`nik.rejected.${reg.nik_reason}`) : "";
    if (reg.nik_status !== "NONE" && reg.nik_status !== "REJECTED") return go(screenFor(reg));
    if (!state.regions) state.regions = await loadRegions();
    renderNik();
  },
  photo: async () => {
    const reg = await loadRegistration();
    if (reg.photo_status === "REJECTED") {
      $("#photo-error").textContent = t(has(`photo.rejected.${reg.photo_reason}`) ? `photo.rejected.${reg.photo_reason}` : "photo.rejected.other");
    }
  },
  batch: () => renderBatches(),
  status: () => pollStatus(true),
  data: () => renderPersonalData(),
};

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// -- start ----------------------------------------------------------------------------------------
function on(selector, event, handler) {
  $(selector).addEventListener(event, handler);
}

function wire() {
  const submit = (selector, fn) =>
    on(selector, "submit", (e) => {
      e.preventDefault();
      busy(e.currentTarget, () => fn(e.currentTarget));
    });
  submit("#register-form", submitRegistration);
  submit("#verify-form", submitCode);
  submit("#signin-form", submitSignIn);
  submit("#reset-request-form", submitResetRequest);
  submit("#reset-confirm-form", submitResetConfirm);
  submit("#nik-form", submitNik);
  submit("#photo-form", submitPhoto);
  submit("#batch-form", submitBatch);
  submit("#delete-form", submitDelete);
  on("#resend", "click", resend);
  on("#sign-out", "click", signOut);
  on("#batch-refresh", "click", () => renderBatches().catch((err) => showError("#batch-error", err)));
  on("#photo-file", "change", (e) => choosePhoto(e.currentTarget));
  for (const id of ["#nik-nik", "#nik-birth_date", "#nik-gender-m", "#nik-gender-f"]) {
    on(id, "input", () => state.regions && renderNik());
  }
  for (const box of document.querySelectorAll(".show-password")) {
    box.addEventListener("change", () => {
      $(`#${box.dataset.for}`).type = box.checked ? "text" : "password";
    });
  }
  on("#lang-switch", "click", () => {
    const next = lang() === "id" ? "en" : "id";
    localStorage.setItem(LANG_KEY, next);
    setLang(next);
    $("#lang-switch").lang = next === "id" ? "en" : "id";
    for (const el of document.querySelectorAll(".error, .form-error, .notice")) el.textContent = "";
    if (waiting) waiting.render();
    const screen = currentScreen();
    if (screen === "nik" && state.regions) renderNik();
    if (screen === "status" && state.registration) renderStatus(state.registration, { force: true });
    if (screen === "batch") renderBatches().catch(() => {});
    const heading = $(`[data-screen="${screen}"] h1`);
    if (heading) document.title = `${heading.textContent} · ${t("app.title")}`;
  });
  window.addEventListener("hashchange", () => show(currentScreen() || "register"));
}

async function start() {
  const stored = localStorage.getItem(LANG_KEY);
  const initial = stored || "id"; // Bahasa Indonesia by default, whatever the browser says
  setLang(initial);
  $("#lang-switch").lang = initial === "id" ? "en" : "id";
  $("#nik-birth_date").max = todayInIndonesia();
  let config = { api_base_url: "" };
  try {
    const r = await fetch("config.json", { cache: "no-cache" });
    if (r.ok) config = { ...config, ...(await r.json()) };
  } catch {
    /* same-origin API */
  }
  state.api = createApi(config.api_base_url || "", {
    wait,
    language: acceptLanguage,
    token: () => (session() || {}).token || "",
  });
  wire();
  applyStatic(document);
  const screen = currentScreen();
  if (screen && screen !== "loading") return show(screen);
  if (session()) {
    show("loading");
    try {
      return await resume();
    } catch (err) {
      clearSession();
    }
  }
  go(state.verifyId ? "verify" : "register");
}

start();
