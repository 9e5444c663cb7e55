// Drives the page in headless Chromium, as a person would (tests/test_web_page.py, benchmarks/web_speed.py):
// it opens the page, gives the file input one file after another (setting the quality slider
// first where a step names one), waits for the page to say it is done or show an error, and
// reports what the page shows. Reads {url, browser, steps, screenshot} as JSON on stdin (browser:
// the Chromium executable); writes one result per step as JSON on stdout. Needs the package's
// devDependencies (npm ci).
//
// A step is {file, quality?}; its result {state, error, status, stats, width, height,
// rgba (base64 of the aecodec canvas), aec (base64 of the download, or null), decodeMs, encodeMs}.
import { readFileSync } from "node:fs";
import puppeteer from "puppeteer-core";

const request = JSON.parse(readFileSync(0, "utf8"));
const TIMEOUT_MS = 600_000;

const browser = await puppeteer.launch({
  executablePath: request.browser,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  protocolTimeout: TIMEOUT_MS,
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const console_ = [];
  page.on("console", (message) => console_.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => console_.push(`pageerror: ${error.message}`));
  await page.goto(request.url, { waitUntil: "load" });
  await page.waitForFunction(() => ["ready", "error"].includes(document.body.dataset.state), { timeout: TIMEOUT_MS });
  const loaded = await page.evaluate(() => ({ state: document.body.dataset.state, error: document.getElementById("error").textContent, isolated: self.crossOriginIsolated }));
  if (loaded.state !== "ready") throw new Error(`the page did not load: ${loaded.error}\n${console_.join("\n")}`);
  const results = [];
  for (const step of request.steps) {
    if (step.quality !== undefined) {
      await page.evaluate((quality) => { document.getElementById("quality").value = String(quality); }, step.quality);
    }
    // A cleared input fires "change" even when the step gives the same file again.
    await page.evaluate(() => { document.body.dataset.state = "ready"; document.getElementById("file").value = ""; });
    const input = await page.$("#file");
    await input.uploadFile(step.file);
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), { timeout: TIMEOUT_MS });
    results.push(await page.evaluate(async () => {
      const canvas = document.getElementById("aecodec-canvas");
      const text = (id) => document.getElementById(id).textContent;
      const state = document.body.dataset.state;
      const base64 = (bytes) => {
        let binary = "";
        for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(binary);
      };
      const link = document.getElementById("download");
      const done = state === "done";
      return {
        state,
        error: document.getElementById("error").hidden ? null : text("error"),
        status: text("status"),
        stats: { aecodec: text("aecodec-stats"), jpeg: text("jpeg-stats"), webp: text("webp-stats") },
        width: done ? canvas.width : 0,
        height: done ? canvas.height : 0,
        rgba: done ? base64(canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data) : null,
        aec: done && !link.hidden ? base64(new Uint8Array(await (await fetch(link.href)).arrayBuffer())) : null,
        decodeMs: Number(document.body.dataset.decodeMs),
        encodeMs: Number(document.body.dataset.encodeMs),
      };
    }));
  }
  if (request.screenshot) await page.screenshot({ path: request.screenshot, fullPage: true });
  process.stdout.write(JSON.stringify({ isolated: loaded.isolated, results, console: console_ }));
} finally {
  await browser.close();
}
