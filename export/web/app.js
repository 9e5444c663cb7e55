/**
 * The page: drop a photo to see aecodec beside the browser's JPEG and WebP at the same file
 * size, or drop an .aec file to decode it. Everything runs here, on onnxruntime-web's
 * WebAssembly backend; the model is the one export folder the server maps to ./model/.
 *
 * `document.body.dataset.state` is "loading", "ready", "working", "done" or "error", so a
 * test (tests/test_web_page.py) can wait for the page as a person would watch it.
 */

import * as ort from "./node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";
import { blobOfSize, decodedPixels, psnr, rgbOf } from "./compare.js";
import { SIGNATURE } from "./container.js";
import { decodeAec } from "./decoder.js";
import { encodeAec, encoderFileNames, loadEncoder } from "./encoder.js";
import { EXPORT_RECORD, loadModel, modelFileNames } from "./model.js";

const MODEL_URL = "./model/";
const BROWSER_CODECS = [["jpeg", "image/jpeg"], ["webp", "image/webp"]];

const $ = (id) => document.getElementById(id);
const page = { model: null, encoder: null, photo: null, threads: 1 };

function setState(state, status) {
  document.body.dataset.state = state;
  // One photo or file at a time: the controls wait while the page loads or works.
  $("file").disabled = $("quality").disabled = state === "loading" || state === "working";
  if (status !== undefined) $("status").textContent = status;
}

function showError(error) {
  const name = error?.name ?? "Error";
  $("error").textContent = `${name}: ${error?.message ?? String(error)}`;
  $("error").hidden = false;
  $("progress").hidden = true;
  setState("error", "");
}

function progress(label) {
  const bar = $("progress");
  bar.hidden = false;
  bar.value = 0;
  return (done, total) => {
    bar.max = total;
    bar.value = done;
    $("status").textContent = `${label}: tile ${done} of ${total}`;
  };
}

async function fetchFiles(names) {
  const entries = await Promise.all(
    names.map(async (name) => {
      const response = await fetch(MODEL_URL + name);
      if (!response.ok) throw new Error(`the server has no ${name} for this model (HTTP ${response.status})`);
      return [name, new Uint8Array(await response.arrayBuffer())];
    }),
  );
  return new Map(entries);
}

async function start() {
  setState("loading", "Loading the model…");
  page.threads = self.crossOriginIsolated ? Math.min(2, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.numThreads = page.threads;
  ort.env.wasm.wasmPaths = new URL("./node_modules/onnxruntime-web/dist/", import.meta.url).href;
  const record = JSON.parse(new TextDecoder().decode((await fetchFiles([EXPORT_RECORD])).get(EXPORT_RECORD)));
  const files = await fetchFiles([...new Set([...modelFileNames(record), ...encoderFileNames(record)])]);
  page.model = await loadModel(files, ort);
  page.encoder = await loadEncoder(files, ort, page.model);
  $("model").textContent = `${page.model.modelId} (weights ${page.model.weightsSha256.slice(0, 12)}…), WebAssembly, ${page.threads} thread${page.threads > 1 ? "s" : ""}`;
  setState("ready", "Drop a photo or an .aec file.");
}

function isAec(bytes) {
  return SIGNATURE.every((byte, i) => bytes[i] === byte);
}

async function openFile(file) {
  $("error").hidden = true;
  setState("working", `Reading ${file.name}…`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (isAec(bytes)) {
    page.photo = null;
    $("quality-row").hidden = true;
    await showAec(bytes, file.name, null);
  } else {
    page.photo = await photoCanvas(file);
    $("quality-row").hidden = false;
    await encodePhoto(file.name);
  }
}

async function photoCanvas(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw Object.assign(new Error(`${file.name} is neither an .aec file nor an image this browser can read`), { name: "InputError" });
  }
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  bitmap.close();
  canvas.dataset.name = file.name;
  return canvas;
}

function drawRgb(canvas, rgb, width, height) {
  canvas.width = width;
  canvas.height = height;
  const image = new ImageData(width, height);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    image.data[i] = rgb[j];
    image.data[i + 1] = rgb[j + 1];
    image.data[i + 2] = rgb[j + 2];
    image.data[i + 3] = 255;
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
}

function describe(bytes, width, height, decibels) {
  const bpp = (8 * bytes) / (width * height);
  const quality = decibels === null ? "" : `, ${Number.isFinite(decibels) ? decibels.toFixed(2) : "∞"} dB PSNR`;
  return `${bytes.toLocaleString("en")} bytes, ${bpp.toFixed(3)} bpp${quality}`;
}

async function encodePhoto(name) {
  const photo = page.photo;
  const quality = Number($("quality").value);
  $("quality-value").textContent = String(quality);
  const { width, height } = photo;
  const original = rgbOf(photo.getContext("2d").getImageData(0, 0, width, height));
  setState("working", "Encoding…");
  const started = performance.now();
  const aec = await encodeAec(original, width, height, quality, page.encoder, { onProgress: progress("Encoding") });
  const encodeMs = performance.now() - started;
  await showAec(aec, name.replace(/\.[^.]*$/, "") + ".aec", original, encodeMs);
  for (const [key, type] of BROWSER_CODECS) {
    const { blob } = await blobOfSize(photo, type, aec.length);
    const pixels = await decodedPixels(blob);
    $(`${key}-canvas`).width = width;
    $(`${key}-canvas`).height = height;
    $(`${key}-canvas`).getContext("2d").putImageData(pixels, 0, 0);
    $(`${key}-stats`).textContent = describe(blob.size, width, height, psnr(original, rgbOf(pixels)));
  }
  $("browser-panels").hidden = false;
  setState("done", `Quality ${quality}: encoded in ${encodeMs.toFixed(0)} ms; JPEG and WebP at the largest size that fits the .aec file.`);
}

async function showAec(bytes, name, original, encodeMs = null) {
  setState("working", "Decoding…");
  const started = performance.now();
  const image = await decodeAec(bytes, page.model, { onProgress: progress("Decoding") });
  const decodeMs = performance.now() - started;
  drawRgb($("aecodec-canvas"), image.rgb, image.width, image.height);
  const decibels = original ? psnr(original, image.rgb) : null;
  $("aecodec-stats").textContent = `${describe(bytes.length, image.width, image.height, decibels)}; decoded in ${decodeMs.toFixed(0)} ms`;
  const link = $("download");
  URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  link.download = name;
  link.hidden = false;
  $("progress").hidden = true;
  $("panels").hidden = false;
  $("browser-panels").hidden = original === null;
  document.body.dataset.decodeMs = decodeMs.toFixed(1);
  if (encodeMs !== null) document.body.dataset.encodeMs = encodeMs.toFixed(1);
  if (!original) setState("done", `${image.width}×${image.height} ${image.mode}, quality ${image.quality}: decoded in ${decodeMs.toFixed(0)} ms.`);
}

function guarded(action) {
  return (...args) => action(...args).catch(showError);
}

$("file").addEventListener("change", guarded(async (event) => event.target.files[0] && openFile(event.target.files[0])));
$("quality").addEventListener("input", () => ($("quality-value").textContent = $("quality").value));
$("quality").addEventListener("change", guarded(async () => page.photo && encodePhoto(page.photo.dataset.name)));
const dropZone = document.body;
dropZone.addEventListener("dragover", (event) => event.preventDefault());
dropZone.addEventListener("drop", guarded(async (event) => {
  event.preventDefault();
  const file = event.dataTransfer.files[0];
  if (file) await openFile(file);
}));
start().catch(showError);
