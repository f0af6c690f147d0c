// The review page in headless Chromium (puppeteer-core; it never downloads a browser): the offline pipeline on
// the sample documents, `pipeline review` as a user starts it, then filter, edit a pair, reject one, reload and
// see the same state; `pipeline format` then reflects the decisions. Saves docs/review.png for the README.
// Skipped (saying why) only when no Chromium binary exists; scripts/setup installs Debian's chromium.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { REVIEW_DECISIONS_FILE } from "../../src/layout.ts";
import { startReview } from "../../src/steps/review.ts";
import { writeReport } from "./fixtures.ts";

// The callbacks below run in the page; the project compiles without the DOM library, so they see `any`.
declare const document: any;
type HTMLElement = any;
type HTMLSelectElement = any;

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "bin/pipeline");
const CHROMIUM = [process.env.CHROME_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) => p && existsSync(p));
const skip = CHROMIUM ? false : "no Chromium binary (/usr/bin/chromium, /usr/bin/chromium-browser, /usr/bin/google-chrome or CHROME_PATH): run scripts/setup as root, or apt-get install chromium";

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, PIPELINE_CACHE: "", OLLAMA_HOST: "http://127.0.0.1:9", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (b) => (stdout += b));
    child.stderr.on("data", (b) => (stderr += b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `pipeline review` in a child process; resolves with the URL it prints on stdout. */
function startReviewCommand(report: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "review", report], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stderr!.on("data", (b) => (stderr += b));
    child.stdout!.on("data", (b) => {
      stdout += b;
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)$/m.exec(stdout);
      if (m) resolve({ child, url: m[1]!, stderr: () => stderr });
    });
    child.on("error", reject);
    child.on("close", (code) => reject(new Error(`pipeline review ended (${code}) before printing its URL:\n${stderr}`)));
  });
}

const launch = (): Promise<Browser> => puppeteer.launch({
  executablePath: CHROMIUM!, headless: true,
  // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});

const texts = (page: Page, sel: string) => page.$$eval(sel, (els) => els.map((e) => e.textContent ?? ""));
/** Waits until the list has settled on `n` matching pairs. */
const waitTotal = (page: Page, n: number) => page.waitForFunction((want) => document.getElementById("total")?.textContent === `${want} pair(s) match`, { timeout: 20_000 }, n);

test("browser: filter, edit, reject, reload shows the same state, format applies it; screenshot", { skip, timeout: 240_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), "review-browser-"));
  const env = { PIPELINE_CHUNKS_DIR: join(work, "chunks"), PIPELINE_QA_DIR: join(work, "qa") };
  const made = await run(["pipeline", "-i", "data/documents", "--provider", "extractive", "--style", "qa=0.7,multi-turn=0.3"], env);
  assert.equal(made.code, 0, made.stderr);
  const report = join(work, "qa", "validation_report.json");
  const review = await startReviewCommand(report, env);
  const browser = await launch();
  let editedId = "", rejectedId = "", rejectedQuestion = "";
  const editedAnswer = "Edited in the browser test: the answer a person wrote.";
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1360, height: 860 });
    await page.goto(review.url);
    await page.waitForSelector("#list li");
    const total = Number(/(\d+) pair/.exec((await texts(page, "#total"))[0]!)![1]);
    assert.ok(total > 10, `the sample documents make pairs (${total})`);
    // Filter: PASS pairs only (the count the filter showed is what the list then holds).
    const option = await page.$eval("#verdict", (s) => [...(s as HTMLSelectElement).options].find((o) => o.value === "PASS")!.textContent!);
    const passCount = Number(/\((\d+)\)/.exec(option)![1]);
    await page.select("#verdict", "PASS");
    await waitTotal(page, passCount);
    // Edit the first pair's answer: the evidence check runs live, Ctrl+Enter saves.
    editedId = await page.$eval("#list li.sel", (li) => (li as HTMLElement).dataset.qaid!);
    await page.keyboard.press("e");
    const answer = await page.waitForSelector('textarea[data-field="answer"]');
    await answer!.click({ count: 3 });
    await page.keyboard.down("Control"); await page.keyboard.press("a"); await page.keyboard.up("Control");
    await answer!.type(editedAnswer);
    await page.waitForFunction(() => /answer support \d+%/.test(document.querySelector(".turn .check")?.textContent ?? ""));
    await page.keyboard.down("Control"); await page.keyboard.press("Enter"); await page.keyboard.up("Control");
    await page.waitForFunction((id) => document.querySelector(`#list li[data-qaid="${id}"] .mark`)?.textContent?.includes("edited"), {}, editedId);
    // Reject the next pair (j then r).
    await page.click(`#list li[data-qaid="${editedId}"]`);
    await page.keyboard.press("j");
    await page.waitForFunction((id) => document.querySelector("#list li.sel")?.getAttribute("data-qaid") !== id, {}, editedId);
    rejectedId = await page.$eval("#list li.sel", (li) => (li as HTMLElement).dataset.qaid!);
    rejectedQuestion = (await page.$eval("#detail .turn .text", (e) => e.textContent!));
    await page.keyboard.press("r");
    await page.waitForSelector(`#list li.rejected[data-qaid="${rejectedId}"]`);
    // Reload: the same filter (kept in the URL), the same decisions (from the server's file).
    await page.reload();
    await waitTotal(page, passCount);
    assert.equal(await page.$eval("#verdict", (s) => (s as HTMLSelectElement).value), "PASS");
    await page.waitForSelector(`#list li.rejected[data-qaid="${rejectedId}"]`);
    await page.click(`#list li[data-qaid="${editedId}"]`);
    await page.waitForFunction((a) => [...document.querySelectorAll("#detail .turn .text")].some((e) => e.textContent === a), {}, editedAnswer);
    await page.waitForSelector("#chunk mark"); // the source chunk from chunks.ndjson, the evidence highlighted
    assert.match((await texts(page, "#format-keeps"))[0]!, /format keeps \d+ of \d+/);
    await page.screenshot({ path: join(ROOT, "docs", "review.png") });
    await page.select("#decision", "rejected");
    await waitTotal(page, 1);
  } finally {
    await browser.close();
    review.child.kill("SIGINT");
    await new Promise((r) => review.child.once("close", r));
  }
  const decisions = readFileSync(join(work, "qa", REVIEW_DECISIONS_FILE), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(decisions.map((d) => [d.qaId, d.action]), [[editedId, "edit"], [rejectedId, "reject"]]);
  const formatted = await run(["format", "-o", join(work, "qa", "final.jsonl")], env);
  assert.equal(formatted.code, 0, formatted.stderr);
  assert.match(formatted.stderr, /applied 2 review decision\(s\) .*: 0 accepted, 1 rejected, 1 edited/);
  const train = readFileSync(join(work, "qa", "final.jsonl"), "utf8");
  assert.ok(train.includes(JSON.stringify(editedAnswer).slice(1, -1)), "the edited answer is the training text");
  const prov = readFileSync(join(work, "qa", "final.provenance.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(!prov.some((p) => p.qaId === rejectedId), `the rejected pair (${rejectedQuestion}) is gone`);
  assert.ok(prov.some((p) => p.qaId === editedId));
  assert.deepEqual(prov.find((p) => p.qaId === editedId)?.review, { edited: true });
});

test("browser: a pair holding <script> and an onerror image renders as text; every turn of a conversation shows", { skip, timeout: 120_000 }, async () => {
  const s = await startReview({ report: await writeReport(mkdtempSync(join(tmpdir(), "review-xss-")), 30), threshold: 7 });
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${s.url}#q=${encodeURIComponent("<script>")}`);
    await page.waitForFunction(() => document.getElementById("total")?.textContent === "1 pair(s) match");
    await page.waitForSelector("#detail .turn .text");
    assert.match((await texts(page, "#list li .q"))[0]!, /^<script>window\.pwned=1<\/script><img src=x onerror=/);
    assert.match((await texts(page, "#detail .turn .text"))[0]!, /^<script>/);
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined, "no script ran");
    assert.equal(await page.$$eval("#list img, #detail img, #list script, #detail script", (e) => e.length), 0);
    await page.goto(`${s.url}#q=${encodeURIComponent("And after that")}`);
    await page.waitForFunction(() => document.getElementById("total")?.textContent === "1 pair(s) match");
    await page.waitForFunction(() => [...document.querySelectorAll("#detail .turn .label")].some((e: any) => e.textContent === "turn 2 of 2"), { timeout: 20_000 });
    const labels = await texts(page, "#detail .turn .label");
    assert.ok(labels.includes("turn 1 of 2") && labels.includes("turn 2 of 2"), labels.join(", "));
    const marks = await texts(page, "#chunk mark");
    assert.ok(marks.length >= 1, "the evidence is highlighted in the chunk");
    // Bulk: Shift+R rejects the whole filtered set (after the confirmation), here the one near-duplicate.
    page.on("dialog", (d) => { void d.accept(); });
    await page.goto(`${s.url}#check=duplicate`);
    await page.waitForFunction(() => document.getElementById("total")?.textContent === "1 pair(s) match" && document.querySelector("#list li.sel"));
    await page.keyboard.down("Shift"); await page.keyboard.press("R"); await page.keyboard.up("Shift");
    await page.waitForSelector("#list li.rejected");
    assert.equal(readFileSync(s.decisionsPath, "utf8").trim().split("\n").length, 1);
  } finally {
    await browser.close();
    await s.stop();
  }
});
