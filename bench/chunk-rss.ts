// Claim: peak RSS of `pipeline chunk` stays flat (< 250 MB) from 200 MB to 2 GB of plain-text input.
// Heavy (writes ~2 GB of corpus and ~2.3 GB of chunks under bench/out/): run rarely.
// Run: node --import tsx bench/chunk-rss.ts [smallMB=200] [bigMB=2000]
import { spawnSync } from "node:child_process";
import { rmSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { ensureCorpus } from "./chunk-corpus.ts";

const sizes = [Number(process.argv[2] ?? 200), Number(process.argv[3] ?? 2000)];
const bin = join(import.meta.dirname, "..", "bin", "pipeline");
console.log(`| input | files | wall | CPU s | peak RSS | output | load avg |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const mb of sizes) {
  const { dir, bytes } = ensureCorpus(`text-${mb}mb`, mb, 1_000_000);
  const out = join(import.meta.dirname, "out", `rss-chunks-${mb}mb`);
  rmSync(out, { recursive: true, force: true });
  const load = loadavg()[0]!;
  const t = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S %M", process.execPath, bin, "chunk", "-i", dir, "-o", out, "-q"], { encoding: "utf8" });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(r.stderr);
  const [user, sys, maxKb] = r.stderr.trim().split("\n").at(-1)!.split(" ").map(Number) as [number, number, number];
  const outMb = statSync(join(out, "chunks.ndjson")).size / 1e6;
  console.log(`| ${(bytes / 1e6).toFixed(0)} MB | ${mb} | ${wall.toFixed(0)} s | ${(user + sys).toFixed(0)} | ${(maxKb / 1024).toFixed(0)} MB | ${outMb.toFixed(0)} MB | ${load.toFixed(1)} |`);
  rmSync(out, { recursive: true, force: true });
}
