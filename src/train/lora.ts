// LoRA adapters on the llama projections: y = x W + (alpha / r) * dropout(x) A B, with A random and B zero.
import { tf } from "../kernels/backend.ts";
import type { LlamaConfig } from "../model/config.ts";
import { linear } from "../model/ops.ts";
import { LINEAR_SUFFIXES, tensorLayout, type ProjectionHook, type RawTensor } from "../model/llama.ts";
import { PipelineError } from "../errors.ts";

type T2 = tf.Tensor2D;

/** Short names users type for --lora-targets, mapped to llama.cpp tensor names. */
export const TARGET_ALIASES: Record<string, (typeof LINEAR_SUFFIXES)[number]> = {
  q: "attn_q", k: "attn_k", v: "attn_v", o: "attn_output",
  gate: "ffn_gate", up: "ffn_up", down: "ffn_down",
  q_proj: "attn_q", k_proj: "attn_k", v_proj: "attn_v", o_proj: "attn_output",
  gate_proj: "ffn_gate", up_proj: "ffn_up", down_proj: "ffn_down",
};
/** Default: every attention projection and the MLP. */
export const DEFAULT_TARGETS = ["q", "k", "v", "o", "gate", "up", "down"];

export interface LoraOptions { rank: number; alpha: number; dropout: number; targets: string[]; seed: number }

export function resolveTargets(targets: string[]): Set<string> {
  const out = new Set<string>();
  for (const t of targets) {
    const s = TARGET_ALIASES[t.trim()] ?? (LINEAR_SUFFIXES as readonly string[]).find((x) => x === t.trim());
    if (!s) throw new PipelineError("E_CONFIG", `unknown LoRA target "${t}"; use some of ${Object.keys(TARGET_ALIASES).slice(0, 7).join(", ")}`, { field: "--lora-targets" });
    out.add(s);
  }
  return out;
}

/** One adapter pair, stored as [in, r] and [r, out] so both products are plain 2-D matmuls. */
interface Pair { a: tf.Variable<tf.Rank.R2>; b: tf.Variable<tf.Rank.R2>; inDim: number; outDim: number }

export class Lora implements ProjectionHook {
  readonly options: LoraOptions;
  readonly scale: number;
  /** Keyed by the target weight's llama.cpp name, e.g. blk.0.attn_q.weight. */
  readonly pairs = new Map<string, Pair>();
  private dropoutSeed = 0;

  constructor(config: LlamaConfig, options: LoraOptions) {
    this.options = options;
    this.scale = options.alpha / options.rank;
    const targets = resolveTargets(options.targets);
    let seed = options.seed;
    for (const { name, dims } of tensorLayout(config)) {
      const m = /^blk\.\d+\.(\w+)\.weight$/.exec(name);
      // phi3's fused matrices take the adapter when any of their parts is a target.
      const wanted = !m ? false
        : m[1] === "attn_qkv" ? targets.has("attn_qkv") || targets.has("attn_q") || targets.has("attn_k") || targets.has("attn_v")
        : m[1] === "ffn_up" && config.fusedGateUp ? targets.has("ffn_up") || targets.has("ffn_gate")
        : targets.has(m[1]!);
      if (!wanted) continue;
      const [inDim, outDim] = dims as [number, number];
      // PyTorch/PEFT init: A ~ kaiming_uniform(a=√5) = U(±1/√in), B = 0, so training starts at the base model.
      const bound = 1 / Math.sqrt(inDim);
      // tidy: tf.variable copies its initial value, which would otherwise stay allocated.
      const s = seed++;
      const a = tf.tidy(() => tf.variable(tf.randomUniform([inDim, options.rank], -bound, bound, "float32", s) as T2, true));
      const b = tf.tidy(() => tf.variable(tf.zeros([options.rank, outDim]) as T2, true));
      this.pairs.set(name, { a, b, inDim, outDim });
    }
  }

  /** Dropout masks are drawn from (step, call) so a resumed run repeats them exactly. */
  setStep(step: number): void { this.dropoutSeed = step * 100_003; }

  delta(name: string, x: T2, training: boolean): T2 | null {
    const p = this.pairs.get(name);
    if (!p) return null;
    const xd = training && this.options.dropout > 0 ? tf.dropout(x, this.options.dropout, undefined, this.dropoutSeed++) as T2 : x;
    return tf.mul(linear(linear(xd, p.a), p.b), this.scale) as T2;
  }

  variables(): tf.Variable[] {
    return [...this.pairs.values()].flatMap((p) => [p.a, p.b]);
  }

  /**
   * The adapter as llama.cpp names and lays it out: `<weight>.lora_a` with GGUF dims [in, r]
   * (PyTorch lora_A [r, in]) and `<weight>.lora_b` with dims [r, out] (PyTorch lora_B [out, r]).
   */
  has(name: string): boolean {
    return this.pairs.has(name);
  }

  rawTensors(): RawTensor[] {
    const out: RawTensor[] = [];
    for (const [name, p] of this.pairs) {
      const base = name.replace(/\.weight$/, "");
      out.push({ name: `${base}.weight.lora_a`, dims: [p.inDim, this.options.rank], data: tf.tidy(() => tf.transpose(p.a).dataSync() as Float32Array) });
      out.push({ name: `${base}.weight.lora_b`, dims: [this.options.rank, p.outDim], data: tf.tidy(() => tf.transpose(p.b).dataSync() as Float32Array) });
    }
    return out;
  }

  /** Load adapter tensors written by rawTensors() (resume, or continuing from an adapter). */
  load(tensors: Iterable<RawTensor>): void {
    for (const t of tensors) {
      const m = /^(.*\.weight)\.lora_([ab])$/.exec(t.name);
      const p = m ? this.pairs.get(m[1]!) : undefined;
      if (!m || !p) throw new PipelineError("E_MODEL", `adapter tensor ${t.name} does not match this model and targets`);
      const [inner, outer] = t.dims as [number, number];
      tf.tidy(() => (m[2] === "a" ? p.a : p.b).assign(tf.transpose(tf.tensor2d(t.data, [outer, inner])) as T2));
    }
  }

  dispose(): void {
    for (const p of this.pairs.values()) { p.a.dispose(); p.b.dispose(); }
  }
}
