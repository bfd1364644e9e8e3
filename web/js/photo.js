// Client-side photo preparation: decode (camera shot or file), refuse too-small images (never
// upscale), scale down and re-encode as JPEG until it fits the API's limit. Re-encoding also
// drops EXIF metadata (location, device) from the uploaded copy.

export const MIN_SIDE = 300;
export const MAX_BYTES = 2 * 1024 * 1024;
export const TARGET_LONG_SIDE = 1600; // plenty for a face check, keeps uploads small on phones
const QUALITIES = [0.9, 0.82, 0.72, 0.6, 0.5];

export class PhotoProblem extends Error {
  constructor(code, params = {}) {
    super(code);
    this.code = code; // "not-image" | "too-small" | "cannot-shrink"
    this.params = params;
  }
}

/** Scale factor (<= 1) for an image of width x height: long side to TARGET_LONG_SIDE at most,
 * short side never below MIN_SIDE. */
export function scaleFor(width, height, longSide = TARGET_LONG_SIDE) {
  const shortSide = Math.min(width, height);
  let scale = Math.min(1, longSide / Math.max(width, height));
  if (shortSide * scale < MIN_SIDE) scale = MIN_SIDE / shortSide;
  return Math.min(1, scale);
}

/** {blob, width, height} of a JPEG of at most maxBytes; throws PhotoProblem. */
export async function preparePhoto(file, { maxBytes = MAX_BYTES } = {}) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    throw new PhotoProblem("not-image");
  }
  try {
    const { width, height } = bitmap;
    if (width < MIN_SIDE || height < MIN_SIDE) throw new PhotoProblem("too-small", { width, height });
    let longSide = TARGET_LONG_SIDE;
    for (let round = 0; round < 6; round++) {
      const scale = scaleFor(width, height, longSide);
      const w = Math.max(MIN_SIDE, Math.round(width * scale));
      const h = Math.max(MIN_SIDE, Math.round(height * scale));
      const canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff"; // transparent PNG areas become white, not black
      ctx.fillRect(0, 0, w, h);
      ctx.drawImage(bitmap, 0, 0, w, h);
      for (const quality of QUALITIES) {
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
        if (blob && blob.size <= maxBytes) return { blob, width: w, height: h };
      }
      if (Math.min(w, h) <= MIN_SIDE) break;
      longSide = Math.round(Math.max(w, h) * 0.75);
    }
    throw new PhotoProblem("cannot-shrink");
  } finally {
    bitmap.close();
  }
}
