// Deterministic plain-text corpus for the chunk benchmarks: prose-like files with sentences and
// paragraphs, written once to bench/out/ and reused while its marker file says it is complete.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const WORDS = ("the a of to and in that is for on with as by this it from be are was an at or which model " +
  "document chunk pipeline question answer training data token layer weight adapter export format stream " +
  "record offset overlap splitter paragraph sentence résumé naïve llama alpaca gradient learning rate").split(" ");

function prose(seed: number, bytes: number): string {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const sentences = 2 + Math.floor(rnd() * 6);
    let para = "";
    for (let i = 0; i < sentences; i++) {
      const n = 6 + Math.floor(rnd() * 18);
      const words: string[] = [];
      for (let w = 0; w < n; w++) words.push(WORDS[Math.floor(rnd() * WORDS.length)]!);
      const sentence = words.join(" ");
      para += sentence[0]!.toUpperCase() + sentence.slice(1) + ". ";
    }
    parts.push(para.trimEnd());
    size += para.length + 2;
  }
  return parts.join("\n\n") + "\n";
}

/** Makes (or reuses) `files` text files of about `fileBytes` each under bench/out/<name>; returns the folder. */
export function ensureCorpus(name: string, files: number, fileBytes: number): { dir: string; bytes: number } {
  const dir = join(import.meta.dirname, "out", name);
  const marker = join(dir, ".complete");
  if (existsSync(marker)) return { dir, bytes: Number(readFileSync(marker, "utf8")) };
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const text = prose(i + 1, fileBytes);
    writeFileSync(join(dir, `doc-${String(i).padStart(5, "0")}.txt`), text);
    bytes += Buffer.byteLength(text);
  }
  writeFileSync(marker, String(bytes));
  return { dir, bytes };
}
