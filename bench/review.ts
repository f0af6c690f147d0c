// `pipeline review` on a 100,000-pair report: time to start (index the report), page load (the HTML, then the
// summary and the first API page, as the page asks them), a filtered page, a text search, and the server's RSS.
// Runs the real CLI in a child process on a report laid out as validate writes it (test/review/fixtures.ts).
// Usage: node --import tsx bench/review.ts [pairs]   (default 100000)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeReportFast } from "../test/review/fixtures.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const n = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), "bench-review-"));
const report = writeReportFast(dir, n);
const mb = (b: number) => (b / 1e6).toFixed(0);
console.error(`report: ${n} pairs, ${mb(statSync(report).size)} MB; load average ${loadavg()[0]!.toFixed(1)}`);

const started = performance.now();
const child = spawn(process.execPath, [join(root, "bin/pipeline"), "review", report, "--chunks", join(dir, "none.ndjson")], { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise<string>((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (b) => { out += b; const m = /^(http:\S+)$/m.exec(out); if (m) resolve(m[1]!); });
  child.on("close", (code) => reject(new Error(`review ended (${code})`)));
});
const startMs = performance.now() - started;
const token = new URL(url).searchParams.get("token")!;
const base = url.replace(/\/\?token=.*$/, "");
const get = async (path: string) => { const r = await fetch(base + path, { headers: { "X-Review-Token": token } }); if (!r.ok) throw new Error(`${path}: ${r.status}`); return r.text(); };
const timed = async (fn: () => Promise<unknown>) => { const t = performance.now(); await fn(); return performance.now() - t; };
/** The page's first load: the HTML and its two files, then summary and the first page of 50 (as app.js asks). */
const pageLoad = () => timed(async () => { await Promise.all([get("/"), get("/app.js"), get("/style.css")]); await get("/api/summary"); await get("/api/pairs?offset=0&limit=50"); });
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const first = await pageLoad();
const warm: number[] = [];
for (let i = 0; i < 5; i++) warm.push(await pageLoad());
const filtered = median(await Promise.all([0, 1, 2].map(() => timed(() => get("/api/pairs?verdict=FAIL&check=ungrounded&doc=1&min=0&max=5&limit=50")))));
const searchCold = await timed(() => get("/api/pairs?q=step%2099999&limit=50"));
const searchWarm = await timed(() => get("/api/pairs?q=step%2099999&limit=50"));
const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
child.kill("SIGINT");
await new Promise((r) => child.once("close", r));

const row = {
  pairs: n, reportMB: Number(mb(statSync(report).size)), startMs: Math.round(startMs), firstLoadMs: Math.round(first), warmLoadMs: Math.round(median(warm)),
  filteredMs: Math.round(filtered), searchColdMs: Math.round(searchCold), searchWarmMs: Math.round(searchWarm), rssMB: Number(mb(kb("VmRSS"))), peakRssMB: Number(mb(kb("VmHWM"))),
};
console.log(JSON.stringify(row));
