// Claim: `pipeline chunk` on a ≥ 200 MB plain-text corpus runs at ≥ 30 MB/s per core; printed beside the
// time `cat` takes to read the same bytes, in the same run.
// Run: node --import tsx bench/chunk-throughput.ts [MB=200]
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { ensureCorpus } from "./chunk-corpus.ts";

const mb = Number(process.argv[2] ?? 200);
const { dir, bytes } = ensureCorpus(`text-${mb}mb`, mb, 1_000_000);
const files = readdirSync(dir).filter((f) => f.endsWith(".txt")).map((f) => join(dir, f));
const out = join(import.meta.dirname, "out", `chunks-${mb}mb`);
rmSync(out, { recursive: true, force: true });

// cat: same files, same page cache state (the corpus was just written or read before).
execFileSync("cat", files, { stdio: ["ignore", "ignore", "inherit"] }); // warm the cache for both
let t = process.hrtime.bigint();
execFileSync("sh", ["-c", `cat "${dir}"/*.txt > /dev/null`]);
const catSec = Number(process.hrtime.bigint() - t) / 1e9;

t = process.hrtime.bigint();
const bin = join(import.meta.dirname, "..", "bin", "pipeline");
// /usr/bin/time gives CPU seconds (user+sys) of the whole process, so MB/s per core is honest.
const r = spawnSync("/usr/bin/time", ["-f", "%U %S %M", process.execPath, bin, "chunk", "-i", dir, "-o", out, "-q"], { encoding: "utf8" });
const wallSec = Number(process.hrtime.bigint() - t) / 1e9;
if (r.status !== 0) throw new Error(r.stderr);
const [user, sys, maxKb] = r.stderr.trim().split("\n").at(-1)!.split(" ").map(Number) as [number, number, number];
const cpuSec = user + sys;
const outBytes = statSync(join(out, "chunks.ndjson")).size;
const MB = bytes / 1e6;

console.log(`| corpus | cat | pipeline chunk (wall) | CPU s (user+sys) | MB/s per core | output | peak RSS | load avg |`);
console.log(`|---|---|---|---|---|---|---|---|`);
console.log(`| ${files.length} files, ${MB.toFixed(0)} MB | ${catSec.toFixed(2)} s (${(MB / catSec).toFixed(0)} MB/s) | ${wallSec.toFixed(1)} s (${(MB / wallSec).toFixed(1)} MB/s) | ${cpuSec.toFixed(1)} | ${(MB / cpuSec).toFixed(1)} | ${(outBytes / 1e6).toFixed(0)} MB | ${(maxKb / 1024).toFixed(0)} MB | ${loadavg()[0]!.toFixed(1)} (${cpus().length} cores) |`);
rmSync(out, { recursive: true, force: true });
