// Bench (issue 17 § 3): how the offline judge treats genuine extractive pairs and pairs whose answer does not
// answer the question (moved within a chunk, moved across chunks, cut short). Corpus: data/documents plus the
// READMEs of the installed npm packages (real technical prose, no network), chunked by `pipeline chunk`.
//   node --import tsx bench/judge-mismatch.ts [--readmes 62]
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { runChecks } from "../src/transforms/checks/run-checks.ts";
import { heuristicScores } from "../src/transforms/extractive-judge.ts";
import { verdictFor } from "../src/transforms/validate.ts";
import { buildJudgeSets, type JudgeCase } from "../test/fixtures/judge-sets.ts";

const { values } = parseArgs({ options: { readmes: { type: "string", default: "62" }, show: { type: "string" } } });
const dir = mkdtempSync(join(tmpdir(), "bench-judge-"));
try {
  const docs = join(dir, "docs");
  mkdirSync(docs);
  for (const f of readdirSync("data/documents")) copyFileSync(join("data/documents", f), join(docs, f));
  // Package READMEs over 4 kB, in name order, so the corpus is the same wherever the lockfile is.
  const readmes = readdirSync("node_modules").filter((n) => !n.startsWith(".") && !n.startsWith("@")).sort()
    .map((n) => join("node_modules", n, "README.md"))
    .filter((p) => existsSync(p) && statSync(p).size > 4096)
    .slice(0, Number(values.readmes));
  for (const p of readmes) copyFileSync(p, join(docs, `${p.split("/")[1]}.md`));
  execFileSync(resolve("bin/pipeline"), ["chunk", "-i", docs, "-o", join(dir, "out"), "-q"], { stdio: ["ignore", "ignore", "inherit"] });
  const chunks = readFileSync(join(dir, "out", "chunks.ndjson"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { docId: string; text: string });

  const sets = buildJudgeSets(chunks);
  const table = new Map<JudgeCase, { n: number; PASS: number; NEEDS_REVIEW: number; FAIL: number }>();
  for (const p of sets) {
    const checks = runChecks(p, null);
    const s = heuristicScores(p, checks);
    const v = verdictFor(s.overall, 8, 7);
    const row = table.get(p.kind) ?? { n: 0, PASS: 0, NEEDS_REVIEW: 0, FAIL: 0 };
    row.n++; row[v]++;
    table.set(p.kind, row);
    if (values.show === p.kind && ((p.kind === "genuine") === (v !== "PASS"))) {
      console.error(`--- ${v} ${s.overall} ${JSON.stringify(checks)}\nQ: ${p.question}\nA: ${p.answer.slice(0, 300)}\n`);
    }
  }
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
  console.log(`${chunks.length} chunks from ${readmes.length + readdirSync("data/documents").length} documents; ${sets.length} labeled pairs\n`);
  console.log("| set | pairs | PASS | NEEDS_REVIEW | FAIL | caught (not PASS) |\n|---|---|---|---|---|---|");
  let mis = 0, caught = 0;
  for (const [kind, r] of table) {
    console.log(`| ${kind} | ${r.n} | ${pct(r.PASS, r.n)} | ${pct(r.NEEDS_REVIEW, r.n)} | ${pct(r.FAIL, r.n)} | ${kind === "genuine" ? "—" : pct(r.n - r.PASS, r.n)} |`);
    if (kind !== "genuine") { mis += r.n; caught += r.n - r.PASS; }
  }
  console.log(`| all mismatches | ${mis} | | | | ${pct(caught, mis)} |`);
} finally {
  if (process.env.KEEP) console.error(dir); else rmSync(dir, { recursive: true, force: true });
}
