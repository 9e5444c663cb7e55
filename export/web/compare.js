/**
 * The page's comparison with the browser's own codecs: the JPEG or WebP file of a photo
 * closest to a given size (canvas `toBlob`), and PSNR over RGB as aecodec.metrics.psnr
 * computes it, so the three panels are judged at the same file size by the same measure.
 */

/** Bisection steps over toBlob's quality in [0, 1]: 1/256 apart at the end, finer than browsers honour. */
const SEARCH_STEPS = 8;

/**
 * PSNR in dB of `test` against `reference`, both RGB bytes (height, width, 3):
 * 10·log10(255² / MSE) over every sample; Infinity when they are equal.
 *
 * @param {Uint8Array} reference
 * @param {Uint8Array} test
 * @returns {number}
 */
export function psnr(reference, test) {
  let squares = 0;
  for (let i = 0; i < reference.length; i++) {
    const difference = reference[i] - test[i];
    squares += difference * difference;
  }
  return squares === 0 ? Infinity : 10 * Math.log10((255 * 255 * reference.length) / squares);
}

/**
 * The RGB bytes (height, width, 3) of canvas pixels, dropping the alpha.
 *
 * @param {ImageData} imageData
 * @returns {Uint8Array}
 */
export function rgbOf(imageData) {
  const rgba = imageData.data;
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}

/**
 * The largest file of `type` that `canvas` encodes to within `bytes`, found by bisection
 * on toBlob's quality; the smallest file it can make when none fits.
 *
 * @param {HTMLCanvasElement} canvas The original photo, drawn 1:1.
 * @param {string} type "image/jpeg" or "image/webp".
 * @param {number} bytes The size to match (the .aec file's).
 * @returns {Promise<{blob: Blob, quality: number}>}
 */
export async function blobOfSize(canvas, type, bytes) {
  let low = 0;
  let high = 1;
  let best = { blob: await toBlob(canvas, type, 0), quality: 0 };
  for (let step = 0; step < SEARCH_STEPS; step++) {
    const quality = (low + high) / 2;
    const blob = await toBlob(canvas, type, quality);
    if (blob.size <= bytes) {
      best = { blob, quality };
      low = quality;
    } else {
      high = quality;
    }
  }
  return best;
}

/**
 * The RGBA pixels of an encoded image file, decoded by the browser at its own size.
 *
 * @param {Blob} blob
 * @returns {Promise<ImageData>}
 */
export async function decodedPixels(blob) {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

function toBlob(canvas, type, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob && blob.type === type ? resolve(blob) : reject(new Error(`this browser cannot encode ${type}`))), type, quality);
  });
}
