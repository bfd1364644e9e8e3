// The registration API (docs/API.md) from the browser: JSON in and out, problem+json errors,
// bearer auth, Accept-Language, and calm waiting: a 429/503 with Retry-After (or a network
// failure) waits out a countdown shown by the page, then the same request is sent again.

export const MAX_AUTO_WAIT_S = 120; // longer waits (e.g. "5 codes a day") are shown, not waited out
const NETWORK_RETRY_S = 5;
const MAX_ATTEMPTS = 6;

export class ApiError extends Error {
  constructor(status, problem, headers) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.type = this.problem.type || "";
    this.headers = headers;
    this.retryAfterS = headers ? parseRetryAfter(headers.get("Retry-After")) : null;
    // Content-Language is a CORS-safelisted response header: readable cross-origin.
    this.language = headers ? (headers.get("Content-Language") || "").toLowerCase() : "";
  }

  /** [{field, message}] of a 422. */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

export class NetworkError extends Error {}

/** Seconds from a Retry-After header (delta-seconds or HTTP date); null when absent or unreadable. */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || value === "") return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - now) / 1000));
}

/**
 * base: the API's base URL ("" = this page's origin).
 * hooks.wait(seconds, reason) -> Promise that resolves when the page may retry (countdown done
 *   or "try now"); reason is "busy" or "offline".
 * hooks.language() -> Accept-Language value. hooks.token() -> bearer token or "".
 */
export function createApi(base, hooks) {
  const root = base.replace(/\/+$/, "");

  async function request(method, path, { body, auth = false, headers = {}, retry = true } = {}) {
    const init = { method, headers: { Accept: "application/json, application/problem+json", ...headers } };
    init.headers["Accept-Language"] = hooks.language();
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (auth) init.headers.Authorization = `Bearer ${hooks.token()}`;
    for (let attempt = 1; ; attempt++) {
      let response;
      try {
        response = await fetch(root + path, init);
      } catch (err) {
        if (!retry || attempt >= MAX_ATTEMPTS) throw new NetworkError(String(err));
        await hooks.wait(NETWORK_RETRY_S, "offline");
        continue;
      }
      if (response.ok) {
        if (response.status === 204) return {};
        const text = await response.text();
        return text ? JSON.parse(text) : {};
      }
      const error = new ApiError(response.status, await readProblem(response), response.headers);
      const waitS = transientWait(error);
      if (retry && waitS !== null && waitS <= MAX_AUTO_WAIT_S && attempt < MAX_ATTEMPTS) {
        await hooks.wait(Math.max(1, waitS), "busy");
        continue;
      }
      throw error;
    }
  }

  return {
    request,
    health: () => request("GET", "/health"),
    register: (body, idempotencyKey) =>
      request("POST", "/registrations", { body, headers: { "Idempotency-Key": idempotencyKey } }),
    verifyEmail: (id, code) => request("POST", `/registrations/${enc(id)}/email-verification`, { body: { code } }),
    resendCode: (id) => request("POST", `/registrations/${enc(id)}/email-verification/resend`, { retry: false }),
    signIn: (email, password) => request("POST", "/sessions", { body: { email, password } }),
    signOut: () => request("DELETE", "/sessions/current", { auth: true }),
    requestPasswordReset: (email) => request("POST", "/password-resets", { body: { email } }),
    confirmPasswordReset: (email, code, newPassword) =>
      request("POST", "/password-resets/confirm", { body: { email, code, new_password: newPassword } }),
    registration: (id) => request("GET", `/registrations/${enc(id)}`, { auth: true }),
    personalData: (id) => request("GET", `/registrations/${enc(id)}/personal-data`, { auth: true }),
    deleteRegistration: (id, password) =>
      request("DELETE", `/registrations/${enc(id)}`, { auth: true, body: { password } }),
    submitNik: (id, body) => request("POST", `/registrations/${enc(id)}/nik`, { auth: true, body }),
    photoUpload: (id, contentType) =>
      request("POST", `/registrations/${enc(id)}/photo`, { auth: true, body: { content_type: contentType } }),
    batches: () => request("GET", "/batches"),
    joinBatch: (id, batchId) =>
      request("POST", `/registrations/${enc(id)}/batch`, { auth: true, body: { batch_id: batchId } }),
  };
}

/** How long to wait before the same request may succeed, or null when waiting will not help. */
export function transientWait(error) {
  if (error.status === 503) return error.retryAfterS ?? 5;
  if (error.status === 429 && error.retryAfterS !== null) return error.retryAfterS;
  return null;
}

/**
 * The presigned POST of docs/API.md: every field, then the file last (S3 ignores fields after
 * `file`). Answers true on 2xx. The S3 origin must allow this page's origin (bucket CORS).
 */
export async function uploadPresigned(post, blob, filename) {
  const form = new FormData();
  for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
  form.append("file", blob, filename);
  const response = await fetch(post.url, { method: "POST", body: form });
  return response.ok;
}

async function readProblem(response) {
  try {
    const text = await response.text();
    const data = text ? JSON.parse(text) : {};
    return data && typeof data === "object" ? data : {};
  } catch {
    return {};
  }
}

function enc(value) {
  return encodeURIComponent(value);
}
