// The tiny model's tokenizer: vocabulary learning and encoding throughput on real prose and code.
// Run: node --import tsx bench/gguf-tokenizer.ts [MB]   (corpus: the Markdown files under node_modules, local)
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { trainSpmVocab } from "../src/tokenizer/spm.ts";
import { spmTokenizer } from "../src/tokenizer/load.ts";

const MB = Number(process.argv[2] ?? 2);
function* markdown(dir: string, depth = 0): Generator<string> {
  if (depth > 4) return;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) yield* markdown(p, depth + 1);
    else if (name.endsWith(".md") && st && st.size > 2000) yield p;
  }
}
let text = "";
for (const p of markdown("node_modules")) {
  text += readFileSync(p, "utf8") + "\n";
  if (text.length >= MB * 1e6) break;
}
text = text.slice(0, MB * 1e6);

console.log(`corpus: ${(text.length / 1e6).toFixed(1)} M characters of Markdown from node_modules\n`);
console.log("| vocabulary | learn (s) | encode MB/s | chars/token |\n|---|---|---|---|");
for (const size of [1024, 4096]) {
  let t0 = performance.now();
  const v = trainSpmVocab(text, { vocabSize: size });
  const learn = (performance.now() - t0) / 1000;
  const tok = spmTokenizer(v);
  t0 = performance.now();
  const ids = tok.encode(text);
  const enc = (performance.now() - t0) / 1000;
  console.log(`| ${v.tokens.length} | ${learn.toFixed(1)} | ${(Buffer.byteLength(text) / 1e6 / enc).toFixed(2)} | ${(text.length / ids.length).toFixed(2)} |`);
}
