// Dequantize and quantize throughput per tensor type (src/gguf/quant.ts), in millions of values per second.
// Run: node --import tsx bench/quant.ts [millions of values]   (default 4; N(0, 0.02) weights; best of 3)
// Dequantizing is what loading a base for finetune does to every weight; quantizing is what convert and
// export do (ggml's reference searches: the K-quants are the slow ones).
import { dequantize, quantize } from "../src/gguf/quant.ts";
import { QUANT_TYPES } from "../src/gguf/types.ts";
import { seededNormal } from "../src/model/tiny.ts";

const n = Math.round(Number(process.argv[2] ?? 4) * 1e6 / 256) * 256;
const normal = seededNormal(1);
const x = new Float32Array(n).map(() => normal() * 0.02);
const out = new Float32Array(n);

function best(f: () => void, runs = 3): number {
  let s = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    s = Math.min(s, (performance.now() - t0) / 1000);
  }
  return s;
}

console.log(`${(n / 1e6).toFixed(2)} M values per run, best of 3`);
console.log("| type | bytes/value | dequantize M values/s | quantize M values/s |");
console.log("|---|---|---|---|");
for (const type of QUANT_TYPES) {
  const q = quantize(type, x);
  const deq = best(() => dequantize(type, q, n, out));
  const qu = best(() => quantize(type, x, q));
  console.log(`| ${type} | ${(q.length / n).toFixed(4)} | ${(n / 1e6 / deq).toFixed(0)} | ${(n / 1e6 / qu).toFixed(1)} |`);
}
