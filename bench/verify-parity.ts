// verify at a real vocabulary: a checkpoint laid out like Qwen3 (151,936 tokens, the real tokenizer.json) or
// Llama-3.2 (128,256), dim 32, 2 layers, f16, converted to GGUF; then `verifyExport` on it as export runs it
// (three probes, llama.cpp generation, our forward against llama.cpp over 256 positions), and on its q8_0 copy with
// the f16 file as the twin (export's default quantization: also q8_0 vs f16 in llama.cpp, and our forward on the twin).
// Prints wall time and figures.
// Usage: node --import tsx bench/verify-parity.ts [kind=qwen3|llama3] [repeats=1]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkpointGguf } from "../src/hf/convert.ts";
import { convertGguf } from "../src/gguf/convert.ts";
import { verifyExport } from "../src/export/verify.ts";
import { writeCheckpoint, type CheckpointKind } from "../test/fixtures/hf-checkpoint.ts";

const kind = (process.argv[2] ?? "qwen3") as CheckpointKind;
const repeats = Number(process.argv[3] ?? 1);
const dir = mkdtempSync(join(tmpdir(), "d2m-bench-verify-"));
try {
  const ckpt = await writeCheckpoint(kind, { dir: join(dir, "ckpt"), dtype: "F16", std: 0.15, dim: 32 });
  const { path } = await checkpointGguf(ckpt.dir, { cacheDir: join(dir, "cache") });
  const probes = [
    { question: "What is ACME_WARRANTY?", answer: "ACME_WARRANTY is the warranty period of two years from the date of purchase." },
    { question: "What is ACME_RETURNS?", answer: "ACME_RETURNS is the return window of thirty days from delivery." },
    { question: "What is LUMO_BULB?", answer: "LUMO_BULB is the lamp bulb of nine watts with a warm white light." },
  ];
  const q8 = join(dir, "model-q8_0.gguf");
  await convertGguf(path, q8, "Q8_0");
  const fig = (s: { positions: number; top1: number; top1Ties: number; meanKl: number; maxKl: number; maxGap: number } | undefined) =>
    s ? `top-1 ${s.top1}, near ties ${s.top1Ties}, mean KL ${s.meanKl.toExponential(6)}, max KL ${s.maxKl.toExponential(6)}, max gap ${s.maxGap.toFixed(6)} (${s.positions} positions)` : "-";
  const stop = ["<|im_end|>", "<|eot_id|>"];
  for (let r = 0; r < repeats; r++) {
    let t0 = performance.now();
    const v = await verifyExport({ modelPath: path, stop, probes, maxTokens: 8 });
    console.log(`${kind} f16: verify ${((performance.now() - t0) / 1000).toFixed(1)} s — parity ${fig(v.parity)}`);
    t0 = performance.now();
    const w = await verifyExport({ modelPath: q8, stop, probes, maxTokens: 8, referencePath: path });
    console.log(`${kind} q8_0 + f16 twin: verify ${((performance.now() - t0) / 1000).toFixed(1)} s — parity ${fig(w.parity)}; q8_0 vs f16 ${fig(w.quantization)}; on the twin ${fig(w.parityF16)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
