// NIK structural rules, the same as src/prakerja/domain/nik.py (the server checks them again):
//
//   PP RR DD  DDMMYY  SSSS
//   |  |  |   |       `- 13-16 serial (never 0000)
//   |  |  |   `--------- 7-12 birth date; 40 is added to the day for women (21 -> 61)
//   |  |  `------------- 5-6  district (kecamatan)
//   |  `---------------- 3-4  regency/city within the province
//   `------------------- 1-2  province (Kemendagri code)
//
// The region list is web/regions.json, a copy of src/prakerja/domain/data/regions.json
// (tests/browser/test_web_assets.py fails when they differ). Pure functions: no DOM here.

export const NIK_LENGTH = 16;
export const WOMAN_DAY_OFFSET = 40;

let regionsPromise = null;

/** The province table, fetched once: {"11": {name, regencies: Set}}. */
export function loadRegions(url = "regions.json") {
  if (!regionsPromise) {
    regionsPromise = fetch(url, { cache: "force-cache" })
      .then((r) => {
        if (!r.ok) throw new Error(`regions.json: HTTP ${r.status}`);
        return r.json();
      })
      .then((data) => regionTable(data))
      .catch((err) => {
        regionsPromise = null; // try again next time
        throw err;
      });
  }
  return regionsPromise;
}

export function regionTable(data) {
  const table = {};
  for (const [code, entry] of Object.entries(data.provinces)) {
    table[code] = {
      code,
      name: entry.name,
      regencies: new Set([...(entry.regencies || []), ...(entry.former_regencies || [])]),
    };
  }
  return table;
}

/** Digits 7-12 for a birth date ("YYYY-MM-DD") and gender ("M"|"F"). */
export function expectedBirthDigits(birthDate, gender) {
  const [y, m, d] = birthDate.split("-").map(Number);
  const day = d + (gender === "F" ? WOMAN_DAY_OFFSET : 0);
  return pad2(day) + pad2(m) + pad2(y % 100);
}

/** What digits 7-12 say: {day, month, yy, gender} or null when they cannot be a date. */
export function decodeBirthDigits(digits) {
  if (!/^\d{6}$/.test(digits)) return null;
  let day = Number(digits.slice(0, 2));
  const month = Number(digits.slice(2, 4));
  const yy = digits.slice(4, 6);
  let gender = "M";
  if (day > WOMAN_DAY_OFFSET) {
    day -= WOMAN_DAY_OFFSET;
    gender = "F";
  }
  if (day < 1 || day > 31 || month < 1 || month > 12) return null;
  // Any year ending in yy could be meant; 2000 is a leap year, so 29-02 passes here (the full date decides).
  if (day > daysInMonth(2000, month)) return null;
  return { day, month, yy, gender };
}

/**
 * Every structural problem of a (partial) NIK, as {code, positions, params} objects the UI
 * turns into words. `complete` is true when it may be sent. Never throws.
 *   nik: what was typed; birthDate: "YYYY-MM-DD" or ""; gender: "M"|"F"|""; regions: regionTable
 */
export function checkNik(nik, { birthDate = "", gender = "", regions = null } = {}) {
  const problems = [];
  const info = { province: null, regency: null, birth: null };
  for (let i = 0; i < nik.length; i++) {
    const ch = nik[i];
    if (ch < "0" || ch > "9") {
      const kind = /\s/.test(ch) || ch === "-" || ch === "." ? "separator" : "not-digit";
      problems.push({ code: kind, positions: [i + 1], params: { position: i + 1 } });
      return { complete: false, problems, info, length: nik.length };
    }
  }
  if (nik.length > NIK_LENGTH) {
    problems.push({ code: "too-long", positions: [], params: { count: nik.length } });
    return { complete: false, problems, info, length: nik.length };
  }
  if (nik.length >= 2 && regions) {
    const province = regions[nik.slice(0, 2)];
    if (!province) {
      problems.push({ code: "province", positions: [1, 2], params: { digits: nik.slice(0, 2) } });
    } else {
      info.province = province;
      if (nik.length >= 4 && province.regencies.size) {
        const regency = nik.slice(2, 4);
        if (!province.regencies.has(regency)) {
          problems.push({
            code: "regency",
            positions: [3, 4],
            params: { digits: regency, province: province.name, provinceCode: province.code },
          });
        } else {
          info.regency = regency;
        }
      }
    }
  }
  if (nik.length >= 12) {
    const digits = nik.slice(6, 12);
    info.birth = decodeBirthDigits(digits);
    if (!info.birth) {
      problems.push({ code: "birth-digits-invalid", positions: [7, 8, 9, 10, 11, 12], params: { digits } });
    } else if (birthDate && (gender === "M" || gender === "F") && validDate(birthDate)) {
      const expected = expectedBirthDigits(birthDate, gender);
      if (digits !== expected) {
        const other = gender === "F" ? "M" : "F";
        const positions = [];
        for (let i = 0; i < 6; i++) if (digits[i] !== expected[i]) positions.push(7 + i);
        problems.push({
          code: digits === expectedBirthDigits(birthDate, other) ? "birth-digits-gender" : "birth-digits",
          positions,
          params: { digits, expected, birthDate, gender, other },
        });
      }
    }
  }
  if (nik.length === NIK_LENGTH && nik.slice(12) === "0000") {
    problems.push({ code: "serial", positions: [13, 14, 15, 16], params: {} });
  }
  if (nik.length < NIK_LENGTH) {
    problems.push({ code: "too-short", positions: [], params: { count: nik.length, missing: NIK_LENGTH - nik.length } });
  }
  return { complete: problems.length === 0, problems, info, length: nik.length };
}

/** Problems of the birth date alone: "" ok, else a code. `today` is "YYYY-MM-DD". */
export function checkBirthDate(birthDate, today) {
  if (!birthDate) return "required";
  if (!validDate(birthDate)) return "invalid";
  if (birthDate > today) return "future";
  if (birthDate < "1900-01-01") return "too-old";
  return "";
}

/** Today in Indonesia's easternmost zone (UTC+9), like the server's future-date rule. */
export function todayInIndonesia(now = new Date()) {
  const east = new Date(now.getTime() + 9 * 3600 * 1000);
  return east.toISOString().slice(0, 10);
}

export function validDate(text) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const [y, m, d] = text.split("-").map(Number);
  return m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

function daysInMonth(year, month) {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function pad2(n) {
  return String(n).padStart(2, "0");
}
