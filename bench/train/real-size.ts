// Training at a real model's size (issue 14 § 5 and § 9): a LoRA (r=8 on q,k,v,o, as the PyTorch anchor) on a
// Qwen2.5-0.5B-shaped model — random weights, real dimensions: vocab 151,936, dim 896, 24 layers, 14 heads /
// 2 KV heads, FFN 4864 — one row of 512 tokens. Each variant runs in its own process, so its peak RSS is its own:
//   whole     every position carries loss, the whole [512, 151936] logits at once (the loss before head-loss.ts)
//   blocked   every position carries loss, the head 64 MB of logits at a time (the memory bound at work)
//   answers   loss on the answer positions only (--answer-share of the row), default budget — what qa-train data asks
// then PyTorch (../shared/anchors/torch_llama.py, Debian's python3-torch) on the same shapes in the same run.
//   node --import tsx bench/train/real-size.ts [--steps 3] [--warmup 1] [--variants whole,blocked,answers]
//        [--answer-share 0.35] [--backend cpu] [--no-torch]
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({ options: {
  child: { type: "string" }, steps: { type: "string", default: "3" }, warmup: { type: "string", default: "1" },
  variants: { type: "string", default: "whole,blocked,answers" }, "answer-share": { type: "string", default: "0.35" },
  backend: { type: "string", default: "cpu" }, threads: { type: "string", default: "2" }, "no-torch": { type: "boolean" },
  layers: { type: "string", default: "24" },
} });
// --layers cuts the depth only (the output head, the part that grows with the vocabulary, stays real).
const SHAPE = { vocab: 151936, dim: 896, layers: Number(a.layers), heads: 14, kvHeads: 2, ffn: 4864 };
const SEQ = 512, RANK = 8;

async function child(variant: string): Promise<void> {
  const { tf, useBackend } = await import("../../src/kernels/backend.ts");
  const { LlamaModel } = await import("../../src/model/llama.ts");
  const { Lora } = await import("../../src/train/lora.ts");
  await useBackend(a.backend!, Number(a.threads));
  const cfg = { arch: "qwen2", ...SHAPE, headDim: SHAPE.dim / SHAPE.heads, normEps: 1e-6, ropeBase: 1e6, ropeStyle: "neox" as const, qkvBias: true, tiedOutput: true, contextLength: SEQ };
  const model = LlamaModel.random(cfg, 1, { trainable: false });
  const lora = new Lora(cfg, { rank: RANK, alpha: 16, dropout: 0, targets: ["q", "k", "v", "o"], seed: 1 });
  const share = variant === "answers" ? Number(a["answer-share"]) : 1;
  const batch = {
    batch: 1, seq: SEQ,
    inputs: Int32Array.from({ length: SEQ }, (_, j) => (j * 7919) % SHAPE.vocab),
    targets: Int32Array.from({ length: SEQ }, (_, j) => (j * 104729 + 17) % SHAPE.vocab),
    // The answer is the end of the row, as in a packed qa-train row (prompt first, answer after).
    weights: Float32Array.from({ length: SEQ }, (_, j) => (j >= SEQ * (1 - share) ? 1 : 0)),
  };
  const headBudgetBytes = variant === "whole" ? Number.MAX_SAFE_INTEGER : variant === "blocked" ? 64 * 1024 * 1024 : undefined;
  const vars = lora.variables();
  const step = () => {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => model.loss(batch, { hook: lora, training: true, headBudgetBytes }), vars);
    value.dataSync();
    // Plain SGD: the optimizer's cost is the adapters' (tiny); what is timed is the forward and backward pass.
    tf.tidy(() => { for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 1e-4))); });
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    return (performance.now() - t0) / 1000;
  };
  for (let i = 0; i < Number(a.warmup); i++) step();
  const times: number[] = [];
  for (let i = 0; i < Number(a.steps); i++) times.push(step());
  const median = [...times].sort((x, y) => x - y)[Math.floor(times.length / 2)]!;
  const rssMB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ variant, seconds: median, tokensPerS: SEQ / median, lossTokens: batch.weights.filter((w) => w > 0).length, peakRssMB: Math.round(rssMB) }));
}

async function main(): Promise<void> {
  console.log(`Qwen2.5-0.5B shape ${JSON.stringify(SHAPE)}, seq ${SEQ}, batch 1, LoRA r=${RANK} q,k,v,o, backend ${a.backend}, ${a.threads} threads; load average ${loadavg()[0]!.toFixed(2)}`);
  const rows: Array<Record<string, number | string>> = [];
  for (const v of a.variants!.split(",")) {
    const out = execFileSync(process.execPath, ["--import", "tsx", "bench/train/real-size.ts", "--child", v, "--steps", a.steps!, "--warmup", a.warmup!, "--answer-share", a["answer-share"]!, "--backend", a.backend!, "--threads", a.threads!, "--layers", a.layers!], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 });
    const r = JSON.parse(out.trim().split("\n").at(-1)!);
    rows.push(r);
    console.log(`  ${v}: ${r.seconds.toFixed(2)} s/step, ${r.tokensPerS.toFixed(1)} tokens/s, loss on ${r.lossTokens} positions, peak RSS ${r.peakRssMB} MB`);
  }
  if (!a["no-torch"]) {
    const dir = mkdtempSync(join(tmpdir(), "bench-real-size-"));
    try {
      const json = join(dir, "torch.json");
      const anchor = "../shared/anchors/torch_llama.py";
      if (!existsSync(anchor)) throw new Error(`${anchor} not found (run from the checkout beside ../shared)`);
      execFileSync("/usr/bin/python3", [anchor, "bench", "--vocab", String(SHAPE.vocab), "--dim", String(SHAPE.dim), "--layers", String(SHAPE.layers), "--heads", String(SHAPE.heads), "--kv-heads", String(SHAPE.kvHeads), "--ffn", String(SHAPE.ffn), "--seq", String(SEQ), "--batch", "1", "--threads", a.threads!, "--modes", "lora", "--warmup", a.warmup!, "--steps", a.steps!, "--json", json], { stdio: ["ignore", "inherit", "inherit"] });
      const t = JSON.parse(readFileSync(json, "utf8"));
      const tps = t.modes.lora.tokens_per_s as number;
      console.log(`  PyTorch LoRA: ${tps.toFixed(1)} tokens/s (${t.modes.lora.median_s.toFixed(2)} s/step)`);
      for (const r of rows) console.log(`  ${r.variant} / PyTorch: ${((r.tokensPerS as number) / tps).toFixed(2)}×`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (a.child) await child(a.child); else await main();
