// The llama-family model in tfjs (llama, mistral, qwen2, qwen3, gemma2, gemma3, phi3) on a plain weight map with llama.cpp
// tensor names; each architecture's graph follows llama.cpp's src/models/<arch>.cpp.
// Linear weights live as [in, out] tensors so the forward pass is plain 2-D x @ W.
import { tf } from "../kernels/backend.ts";
import { isSlidingLayer, type LlamaConfig } from "./config.ts";
import { tensorLayout } from "./gguf-meta.ts";
import { headCrossEntropy, HEAD_BUDGET_BYTES, selectRows } from "./head-loss.ts";
import { attention, embedding, gatherRows, geglu, headRmsNorm, linear, linearFrozen, linearTransposed, maskedCrossEntropy, rmsNorm, ropeInvFreq, ropeTables, rotary, softcap, swiglu, transposedMatMulIsFast, type RopeTables, type RotarySpec } from "./ops.ts";

type T2 = tf.Tensor2D;

/** A tensor as GGUF stores it: row-major data, dims in GGUF order (dims[0] fastest). */
export interface RawTensor { name: string; dims: number[]; data: Float32Array }

/** LoRA (or anything else) can add a delta to a projection's output. */
export interface ProjectionHook {
  delta(name: string, x: T2, training: boolean): T2 | null;
  /** Whether the hook adds to this weight (a LoRA on the output head keeps the whole-logits loss). */
  has?(name: string): boolean;
}

export const LINEAR_SUFFIXES = ["attn_q", "attn_k", "attn_v", "attn_qkv", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] as const;

// The tensor layout lives with the metadata writer (gguf-meta.ts, no tfjs), so `tiny` can write files without loading tfjs.
export { tensorLayout };

/** Seeded random weights in GGUF layout: normal(0, std) matrices, unit norms, small biases. */
export function randomTensors(config: LlamaConfig, seed: number, std = 0.02): RawTensor[] {
  // Not through tf.tidy: it walks a returned typed array element by element (a real vocabulary's embedding
  // table, 136 M values, overflows it).
  const normal = (size: number): Float32Array => {
    const t = tf.randomNormal([size], 0, std, "float32", seed++);
    const data = Float32Array.from(t.dataSync() as Float32Array);
    t.dispose();
    return data;
  };
  return tensorLayout(config).map(({ name, dims }) => {
    const size = dims.reduce((a, b) => a * b, 1);
    const data = ROPE_CONSTANTS.has(name) ? new Float32Array(size).fill(1)
      : name.endsWith(".bias") ? normal(size)
      : dims.length === 1 ? new Float32Array(size).fill(1)
      : normal(size);
    return { name, dims, data };
  });
}

const isMatrix = (dims: number[]) => dims.length === 2;

export interface ModelOptions {
  /** Train every weight (tiny from scratch) instead of keeping them frozen. */
  trainable?: boolean;
  /** Keep a transposed copy of frozen matrices: faster backward, twice the memory. */
  cacheTransposed?: boolean;
}

export class LlamaModel {
  readonly config: LlamaConfig;
  readonly trainable: boolean;
  /** Matrices as [in, out] (= GGUF [out rows of in]), vectors as-is; tf.Variables when trainable. */
  readonly weights = new Map<string, tf.Tensor>();
  private readonly transposed = new Map<string, T2>();
  /** The rope of the global layers and (gemma3) of the sliding-window layers. */
  private readonly ropes: { global: RopeVariant; local?: RopeVariant };
  /** Rope tables by variant and head count, for one batch shape (the tfjs rope path). */
  private tableCache = { shape: "", tables: new Map<string, RopeTables>() };

  constructor(config: LlamaConfig, tensors: Iterable<RawTensor>, opts: ModelOptions = {}) {
    this.config = config;
    this.trainable = opts.trainable ?? false;
    // With a fast transposed matMul the backward pass reads W through the flag: no copy needed.
    const cache = opts.cacheTransposed ?? (!this.trainable && !transposedMatMulIsFast());
    for (const t of tensors) {
      let w: tf.Tensor;
      if (isMatrix(t.dims)) {
        const [inner, outer] = t.dims as [number, number];
        const oi = tf.tensor2d(t.data, [outer, inner]);
        // token_embd is a lookup table [vocab, dim]: keep it as stored.
        if (t.name === "token_embd.weight") w = oi;
        else {
          w = tf.transpose(oi);
          if (cache && !this.trainable) this.transposed.set(t.name, oi);
          else oi.dispose();
        }
      } else {
        w = tf.tensor1d(t.data);
      }
      // Rope factors are constants of the architecture (Llama-3's, phi3's short/long), never trained.
      const train = this.trainable && !ROPE_CONSTANTS.has(t.name);
      this.weights.set(t.name, train ? tf.variable(w, true) : w);
      if (train) w.dispose();
    }
    for (const { name } of tensorLayout(config)) {
      if (!this.weights.has(name)) throw new Error(`model is missing tensor ${name}`);
    }
    // phi3's LongRoPE: the short factors, which llama.cpp uses up to ropeOrigContext (training rows are shorter).
    const factorName = config.ropeFreqs ? "rope_freqs.weight" : config.ropeShortLong ? "rope_factors_short.weight" : undefined;
    const factors = factorName ? this.w(factorName).dataSync() as Float32Array : undefined;
    const ropeDims = config.ropeDims ?? config.headDim;
    const mscale = config.ropeMscale ?? 1;
    this.ropes = { global: { id: "global", base: config.ropeBase, mscale, invFreq: ropeInvFreq(ropeDims, config.ropeBase, config.ropeScale ?? 1, factors) } };
    // gemma's local layers: their own base; gemma3's never scaled (llama.cpp rope_freq_scale_train_swa = 1).
    if (config.slidingWindow) {
      const base = config.ropeBaseSwa ?? 10000;
      this.ropes.local = { id: "local", base, mscale, invFreq: ropeInvFreq(ropeDims, base, config.ropeScaleSwa ?? 1) };
    }
  }

  /** Small normal weights (std 0.02), unit norms: a model to train from scratch. */
  static random(config: LlamaConfig, seed: number, opts: ModelOptions & { std?: number } = {}): LlamaModel {
    return new LlamaModel(config, randomTensors(config, seed, opts.std ?? 0.02), opts);
  }

  variables(): tf.Variable[] {
    return this.trainable ? [...this.weights.values()].filter((t): t is tf.Variable => t instanceof tf.Variable) : [];
  }

  private w(name: string): tf.Tensor {
    const t = this.weights.get(name);
    if (!t) throw new Error(`no tensor ${name}`);
    return t;
  }

  private project(name: string, x: T2, hook: ProjectionHook | undefined, training: boolean): T2 {
    const w = this.w(`${name}.weight`) as T2;
    let y = this.trainable ? linear(x, w) : linearFrozen(x, w, this.transposed.get(`${name}.weight`));
    const bias = this.weights.get(`${name}.bias`);
    if (bias) y = tf.add(y, bias);
    const d = hook?.delta(`${name}.weight`, x, training);
    return d ? tf.add(y, d) : y;
  }

  /** Rope tables for plain positions, kept across steps of the same batch shape. */
  private cachedTables(v: RopeVariant, heads: number, batch: number, seq: number): RopeTables {
    const c = this.config;
    const shape = `${batch}x${seq}`;
    if (this.tableCache.shape !== shape) {
      this.disposeTables();
      this.tableCache.shape = shape;
    }
    const key = `${v.id}:${heads}`;
    let t = this.tableCache.tables.get(key);
    if (!t) {
      t = ropeTables(batch, seq, heads, c.headDim, v.base, c.ropeStyle, undefined, true, v.invFreq, c.ropeDims, v.mscale);
      this.tableCache.tables.set(key, t);
    }
    return t;
  }

  private disposeTables(): void {
    for (const t of this.tableCache.tables.values()) { t.cos.dispose(); t.sin.dispose(); }
    this.tableCache.tables.clear();
  }

  /** Logits [batch*seq, vocab] for token rows [batch, seq] (row-major). */
  forward(tokens: Int32Array, batch: number, seq: number, opts: ForwardOptions = {}): T2 {
    return tf.tidy(() => this.logitsOf(this.hidden(tokens, batch, seq, opts), opts));
  }

  /** The output head on final hidden rows, with gemma's soft-capping. */
  private logitsOf(hN: T2, opts: ForwardOptions): T2 {
    const logits = this.head(hN, opts, opts.training ?? false);
    return this.config.logitSoftcap ? softcap(logits, this.config.logitSoftcap) : logits;
  }

  /** The final normed hidden state [batch*seq, dim], before the output head. */
  private hidden(tokens: Int32Array, batch: number, seq: number, opts: ForwardOptions = {}): T2 {
    const c = this.config;
    const training = opts.training ?? false;
    const packed = opts.positions && !isPlainPositions(opts.positions, seq);
    const shape = { batch, seq, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, positions: packed ? opts.positions : undefined, softcap: c.attnSoftcap };
    return tf.tidy(() => {
      // Packed rows restart positions at each example: tables per batch (tidied), else the cached ones.
      // Tables are built only when the tfjs rope runs (the fused kernel takes positions).
      const positions = packed ? opts.positions! : plainPositions(batch, seq);
      const packedTables = new Map<string, RopeTables>();
      const spec = (heads: number, v: RopeVariant): RotarySpec => ({
        heads, headDim: c.headDim, base: v.base, style: c.ropeStyle, positions, invFreq: v.invFreq, ropeDims: c.ropeDims, mscale: v.mscale,
        tables: () => {
          if (!packed) return this.cachedTables(v, heads, batch, seq);
          const key = `${v.id}:${heads}`;
          let t = packedTables.get(key);
          if (!t) packedTables.set(key, t = ropeTables(batch, seq, heads, c.headDim, v.base, c.ropeStyle, opts.positions, false, v.invFreq, c.ropeDims, v.mscale));
          return t;
        },
      });
      const specs = (v: RopeVariant) => ({ q: spec(c.heads, v), k: spec(c.kvHeads, v) });
      const globalSpecs = specs(this.ropes.global);
      const localSpecs = this.ropes.local ? specs(this.ropes.local) : globalSpecs;
      const norm = (t: T2, name: string) => rmsNorm(t, this.w(name) as tf.Tensor1D, c.normEps, this.trainable);
      const emb = this.w("token_embd.weight") as T2;
      let x = this.trainable ? embedding(emb, tokens) : gatherRows(emb, tokens);
      // gemma3.cpp: inpL = ggml_scale(inpL, sqrtf(n_embd)), a float32 constant.
      if (c.gemma) x = tf.mul(x, Math.fround(Math.sqrt(c.dim)));
      for (let l = 0; l < c.layers; l++) {
        const p = `blk.${l}.`;
        const sliding = isSlidingLayer(c, l);
        const rs = sliding ? localSpecs : globalSpecs;
        const h = norm(x, `${p}attn_norm.weight`);
        const qkv = c.fusedQkv ? this.splitQkv(this.project(`${p}attn_qkv`, h, opts.hook, training))
          : [this.project(`${p}attn_q`, h, opts.hook, training), this.project(`${p}attn_k`, h, opts.hook, training), this.project(`${p}attn_v`, h, opts.hook, training)];
        let [q, k] = qkv;
        const v = qkv[2]!;
        if (c.qkNorm) {
          q = headRmsNorm(q, this.w(`${p}attn_q_norm.weight`) as tf.Tensor1D, c.heads, c.normEps, this.trainable);
          k = headRmsNorm(k, this.w(`${p}attn_k_norm.weight`) as tf.Tensor1D, c.kvHeads, c.normEps, this.trainable);
        }
        q = rotary(q, rs.q);
        k = rotary(k, rs.k);
        let a = this.project(`${p}attn_output`, attention(q, k, v, sliding ? { ...shape, window: c.slidingWindow } : shape), opts.hook, training);
        if (c.gemma) a = norm(a, `${p}post_attention_norm.weight`);
        x = tf.add(x, a);
        const m = norm(x, `${p}ffn_norm.weight`);
        // phi3: gate and up in one matrix, gate first (ggml_swiglu, not swapped).
        const [gate, up] = c.fusedGateUp ? tf.split(this.project(`${p}ffn_up`, m, opts.hook, training), 2, 1) as [T2, T2]
          : [this.project(`${p}ffn_gate`, m, opts.hook, training), this.project(`${p}ffn_up`, m, opts.hook, training)];
        let f = this.project(`${p}ffn_down`, c.gemma ? geglu(gate, up) : swiglu(gate, up), opts.hook, training);
        if (c.gemma) f = norm(f, `${p}post_ffw_norm.weight`);
        x = tf.add(x, f);
      }
      return norm(x, "output_norm.weight");
    });
  }

  /** phi3's fused projection [N, q + 2 kv] → q, k, v (llama.cpp build_qkv views, in that order). */
  private splitQkv(qkv: T2): [T2, T2, T2] {
    const c = this.config;
    return tf.split(qkv, [c.heads * c.headDim, c.kvHeads * c.headDim, c.kvHeads * c.headDim], 1) as [T2, T2, T2];
  }

  private head(hN: T2, opts: ForwardOptions, training: boolean): T2 {
    const c = this.config;
    if (!c.tiedOutput) return this.project("output", hN, opts.hook, training);
    const table = this.w("token_embd.weight") as T2;
    // Tied output: logits = h @ E^T; E is [vocab, dim] = the [out, in] layout already.
    if (transposedMatMulIsFast()) return this.trainable ? linearTransposed(hN, table) : tf.matMul(hN, table, false, true);
    return this.trainable ? linear(hN, tf.transpose(table)) : linearFrozen(hN, this.tiedT ??= tf.keep(tf.transpose(table)), table);
  }
  private tiedT?: T2;

  /**
   * Mean next-token loss over positions with weight > 0. Only those positions go through the output head (the
   * prompt of an answer-masked row never needs its logits), and where their logits would pass `headBudgetBytes`
   * (a real vocabulary: 151,936 × 4 bytes per row) they are made and dropped a block of rows at a time, forward
   * and backward (head-loss.ts), so memory does not grow with rows × vocabulary.
   */
  loss(batch: Batch, opts: ForwardOptions & { headBudgetBytes?: number } = {}): tf.Scalar {
    return tf.tidy(() => {
      const hN = this.hidden(batch.inputs, batch.batch, batch.seq, { ...opts, positions: batch.positions });
      const rows: number[] = [];
      batch.weights.forEach((w, i) => { if (w > 0) rows.push(i); });
      if (!rows.length) return tf.scalar(0);
      const all = rows.length === batch.weights.length;
      const picked = all ? hN : selectRows(hN, Int32Array.from(rows));
      const targets = all ? batch.targets : Int32Array.from(rows, (i) => batch.targets[i]!);
      const weights = all ? batch.weights : Float32Array.from(rows, (i) => batch.weights[i]!);
      const c = this.config;
      const budget = opts.headBudgetBytes ?? HEAD_BUDGET_BYTES;
      const hooked = opts.hook ? (opts.hook.has?.("output.weight") ?? true) : false;
      if (rows.length * c.vocab * 4 <= budget || hooked || (c.tiedOutput && this.trainable)) {
        // Small enough (or a LoRA on the head itself, or a trainable tied table): the whole logits at once.
        return maskedCrossEntropy(this.logitsOf(picked, opts), targets, weights);
      }
      const rowsPerBlock = Math.max(1, Math.floor(budget / (c.vocab * 4)));
      const w = c.tiedOutput ? { table: this.w("token_embd.weight") as T2 } : { matrix: this.w("output.weight") as T2, trainable: this.trainable };
      return headCrossEntropy(picked, w, targets, weights, { rowsPerBlock, softcap: c.logitSoftcap });
    });
  }

  /** All weights back in GGUF layout (for writing the trained tiny model). */
  rawTensors(): RawTensor[] {
    return tensorLayout(this.config).map(({ name, dims }) => {
      const t = this.w(name);
      const data = isMatrix(dims) && name !== "token_embd.weight"
        ? tf.tidy(() => tf.transpose(t).dataSync() as Float32Array)
        : (t.dataSync() as Float32Array).slice();
      return { name, dims, data: Float32Array.from(data) };
    });
  }

  dispose(): void {
    for (const t of this.weights.values()) t.dispose();
    for (const t of this.transposed.values()) t.dispose();
    this.tiedT?.dispose();
    this.disposeTables();
  }
}

/**
 * One training batch: inputs[i] predicts targets[i]; weights[i] = 0 for prompt and padding.
 * positions (optional): each packed example restarts at 0 and attends only to itself.
 */
export interface Batch { batch: number; seq: number; inputs: Int32Array; targets: Int32Array; weights: Float32Array; positions?: Int32Array }

/** One rope: its base, each pair's angle per position (ops.ts ropeInvFreq) and the magnitude scale of the turned dims. */
interface RopeVariant { id: string; base: number; invFreq: Float64Array; mscale: number }

const ROPE_CONSTANTS = new Set(["rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight"]);

export interface ForwardOptions { hook?: ProjectionHook; training?: boolean; positions?: Int32Array }

const plainCache = new Map<string, Int32Array>();
/** Positions 0..seq-1 in every row. */
function plainPositions(batch: number, seq: number): Int32Array {
  const key = `${batch}x${seq}`;
  let p = plainCache.get(key);
  if (!p) {
    if (plainCache.size > 16) plainCache.clear();
    p = Int32Array.from({ length: batch * seq }, (_, i) => i % seq);
    plainCache.set(key, p);
  }
  return p;
}

function isPlainPositions(p: Int32Array, seq: number): boolean {
  for (let i = 0; i < p.length; i++) if (p[i] !== i % seq) return false;
  return true;
}
