// Bench (issue 5 § Measure): `pipeline pipeline --provider extractive` on data/documents; of the pairs kept in
// training_data_final.jsonl, the share whose evidence is found in its chunk, and duplicate questions kept.
//   node --import tsx bench/data-steps-documents.ts
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { evidenceFound } from "../src/transforms/checks/grounding.ts";
import { normalizeText } from "../src/transforms/checks/normalize.ts";

const dir = mkdtempSync(join(tmpdir(), "bench-documents-"));
const t0 = performance.now();
const run = spawnSync(process.execPath, [resolve("bin/pipeline"), "pipeline", "-i", resolve("data/documents"), "--provider", "extractive", "--quiet"], { cwd: dir, encoding: "utf8" });
const seconds = (performance.now() - t0) / 1000;
if (run.status !== 0) throw new Error(run.stderr);
const qaDir = join(dir, "data", "document_training_data");
const pairs = new Map<string, { evidence: string; context?: string; question: string }>();
for (const p of JSON.parse(readFileSync(join(qaDir, "training_data.json"), "utf8"))) pairs.set(p.id, p);
const prov = readFileSync(join(qaDir, "training_data_final.provenance.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { qaId: string });
const chunks = readFileSync(join(dir, "data", "document_chunks", "chunks.ndjson"), "utf8").trim().split("\n").length;
const kept = prov.map((p) => pairs.get(p.qaId)!);
const grounded = kept.filter((p) => evidenceFound(p.evidence, p.context ?? "")).length;
const questions = kept.map((p) => normalizeText(p.question));
console.log(JSON.stringify({
  documents: "data/documents", chunks, pairs: pairs.size, kept: kept.length,
  groundedShare: kept.length ? grounded / kept.length : 0, duplicateQuestionsKept: questions.length - new Set(questions).size,
  seconds: +seconds.toFixed(1),
}));
rmSync(dir, { recursive: true, force: true });
