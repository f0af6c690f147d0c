// Bench (issue 20 § 8): peak RSS of `pipeline chunk` on one 1 GB text file and on one 100 MB single-line
// file. The files are generated under bench/out/ (git-ignored) and deleted afterwards.
//   node --import tsx bench/big-text.ts [--gb 1] [--line-mb 100] [--bin bin/pipeline]
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { mulberry32 } from "../src/random.ts";

const { values } = parseArgs({ options: { gb: { type: "string", default: "1" }, "line-mb": { type: "string", default: "100" }, bin: { type: "string", default: "bin/pipeline" }, only: { type: "string" } } });
const OUT = resolve(import.meta.dirname, "out", "big-text");
const VOCAB = "the mill wheel turns when water flows over its blades and grain is ground into flour between two stones a miller sets the gap".split(" ");

/** `bytes` of words from a seeded stream; paragraphs of ~80 words unless `oneLine`. */
function writeText(path: string, bytes: number, oneLine: boolean): void {
  const r = mulberry32(42);
  const fd = openSync(path, "w");
  let written = 0;
  while (written < bytes) {
    let block = "";
    while (block.length < 1 << 20) {
      block += VOCAB[Math.floor(r() * VOCAB.length)]!;
      block += oneLine ? " " : r() < 1 / 80 ? ".\n\n" : r() < 1 / 15 ? ". " : " ";
    }
    const buf = Buffer.from(block.slice(0, Math.min(block.length, bytes - written)));
    writeSync(fd, buf);
    written += buf.length;
  }
  closeSync(fd);
}

function chunk(dir: string, out: string): { seconds: number; cpu: number; rssMB: number; outMB: number; exit: number | null; err: string } {
  const t = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S %M", process.execPath, resolve(values.bin!), "chunk", "-i", dir, "-o", out, "-q"], { encoding: "utf8", maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t) / 1000;
  const [user, sys, maxKb] = r.stderr.trim().split("\n").at(-1)!.split(" ").map(Number) as [number, number, number];
  let outMB = 0;
  try { outMB = statSync(join(out, "chunks.ndjson")).size / 1e6; } catch { /* failed run */ }
  return { seconds, cpu: user + sys, rssMB: maxKb / 1024, outMB, exit: r.status, err: r.status ? r.stderr.split("\n").filter((l) => /error|Error/.test(l)).slice(0, 2).join(" | ") : "" };
}

const cases = [
  { name: `${values.gb} GB text, one file`, dir: "gb", bytes: Number(values.gb) * 1e9, oneLine: false },
  { name: `${values["line-mb"]} MB, one line`, dir: "line", bytes: Number(values["line-mb"]) * 1e6, oneLine: true },
].filter((c) => !values.only || c.dir === values.only);
console.log("| input | exit | wall | CPU s | peak RSS | output | load avg |");
console.log("|---|---|---|---|---|---|---|");
for (const c of cases) {
  const dir = join(OUT, c.dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeText(join(dir, "doc.txt"), c.bytes, c.oneLine);
  const load = loadavg()[0]!;
  const r = chunk(dir, join(OUT, `${c.dir}-chunks`));
  console.log(`| ${c.name} | ${r.exit}${r.err ? ` (${r.err})` : ""} | ${r.seconds.toFixed(0)} s | ${r.cpu.toFixed(0)} | ${r.rssMB.toFixed(0)} MB | ${r.outMB.toFixed(0)} MB | ${load.toFixed(1)} |`);
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(OUT, `${c.dir}-chunks`), { recursive: true, force: true });
}
rmSync(OUT, { recursive: true, force: true });
