// Claims (issue 19): `pipeline chunk` with the default PDF engine and 2 workers reads PDFs at least as fast (pages/s)
// as one `pdftotext` process (poppler-utils, one process per file), and its peak RSS stays under 300 MB, on a corpus
// shaped like 270 real technical manuals (hundreds of files, some over 1,000 pages). Each engine and pdftotext with
// 1 and 2 processes run in the same session on the same files (page cache warm), in turn, `--rounds` times.
//
// Run: node --import tsx bench/pdf-engines.ts [--quick] [--rounds N]
//   full: 270 PDFs (266 of 4–36 pages, 4 of 1,100–2,000), ~11,400 pages; --quick: 41 PDFs, ~1,800 pages.
//   The corpus is generated once (pdfkit; minutes for the full one) under /tmp/d2m-pdf-corpus and reused.
//   Needs pdftotext and GNU time: apt-get install -y poppler-utils time.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { ensurePdfCorpus, FULL, QUICK } from "./pdf-corpus.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const rounds = Number(args[args.indexOf("--rounds") + 1] ?? 1) || 1;
const corpus = await ensurePdfCorpus(quick ? QUICK : FULL);
const files = readdirSync(corpus.dir).filter((f) => f.endsWith(".pdf")).sort().map((f) => join(corpus.dir, f));
const bin = join(import.meta.dirname, "..", "bin", "pipeline");
const out = "/tmp/d2m-pdf-engines-out";
rmSync(out, { recursive: true, force: true });

interface Run { wall: number; cpu: number; rssMb: number }

/** GNU time around a command: wall, user+sys CPU of it and its children, peak RSS of the biggest process. */
function timed(cmd: string, argv: string[], input?: string): Run {
  const r = spawnSync("/usr/bin/time", ["-f", "TIME %e %U %S %M", cmd, ...argv], { input, encoding: "utf8", maxBuffer: 1 << 26 });
  const line = r.stderr.split("\n").find((l) => l.startsWith("TIME "));
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${argv.join(" ")} failed (status ${r.status}):\n${r.stderr.slice(-2000)}`);
  const [wall, user, sys, maxKb] = line.slice(5).split(" ").map(Number) as [number, number, number, number];
  return { wall, cpu: user + sys, rssMb: maxKb / 1024 };
}

// pdftotext, one process per file, N at a time (xargs waits for them all, so GNU time counts their CPU).
const pdftotext = (procs: number) =>
  timed("xargs", ["-0", "-P", String(procs), "-I{}", "pdftotext", "-enc", "UTF-8", "{}", "/dev/null"], files.join("\0"));

function chunk(engine: string): Run {
  rmSync(join(out, engine), { recursive: true, force: true });
  return timed(process.execPath, [bin, "chunk", corpus.dir, "-o", join(out, engine), "-q", "--pdf-engine", engine]);
}

if (spawnSync("pdftotext", ["-v"]).error) throw new Error("pdftotext not found: apt-get install -y poppler-utils");
for (const f of files) readFileSync(f); // page cache warm for everyone
const cases: Array<[string, () => Run]> = [
  ["pdftotext, 1 process", () => pdftotext(1)],
  ["pdftotext, 2 processes", () => pdftotext(2)],
  ["chunk --pdf-engine pdfium (2 workers)", () => chunk("pdfium")],
  ["chunk --pdf-engine pdf-parse (2 workers)", () => chunk("pdf-parse")],
];
const results = new Map<string, Run[]>(cases.map(([name]) => [name, []]));
const loads: number[] = [loadavg()[0]!];
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of cases) {
    results.get(name)!.push(run());
    loads.push(loadavg()[0]!);
  }
}
// The chunk outputs of the last round: do the two engines give the same chunks?
const same = (() => {
  try { return readFileSync(join(out, "pdfium", "chunks.ndjson")).equals(readFileSync(join(out, "pdf-parse", "chunks.ndjson"))); } catch { return false; }
})();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results.get(cases[0]![0])!.map((r) => r.wall));
console.log(`${corpus.files} PDFs, ${corpus.pages} pages · ${cpus().length} cores · load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the run · median of ${rounds} round(s)`);
console.log();
console.log("| reader | wall | pages/s | ÷ pdftotext 1 process | CPU s (user+sys) | pages per CPU-second | peak RSS |");
console.log("|---|---|---|---|---|---|---|");
for (const [name] of cases) {
  const rs = results.get(name)!;
  const wall = median(rs.map((r) => r.wall));
  const cpu = median(rs.map((r) => r.cpu));
  const rss = Math.max(...rs.map((r) => r.rssMb));
  const rssCell = name.startsWith("chunk") ? `${rss.toFixed(0)} MB` : `${rss.toFixed(0)} MB (one process)`;
  console.log(`| ${name} | ${wall.toFixed(1)} s | ${(corpus.pages / wall).toFixed(0)} | ${(base / wall).toFixed(2)}× | ${cpu.toFixed(1)} | ${(corpus.pages / cpu).toFixed(0)} | ${rssCell} |`);
}
console.log();
console.log(`chunks.ndjson of the two engines byte-identical: ${same ? "yes" : "no"}`);
rmSync(out, { recursive: true, force: true });
