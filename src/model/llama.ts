// The llama-family model in tfjs (llama, mistral, qwen2) on a plain weight map with llama.cpp tensor names.
// Linear weights live as [in, out] tensors so the forward pass is plain 2-D x @ W.
import { tf } from "../kernels/backend.ts";
import type { LlamaConfig } from "./config.ts";
import { tensorLayout } from "./gguf-meta.ts";
import { attention, embedding, gatherRows, linear, linearFrozen, linearTransposed, maskedCrossEntropy, rmsNorm, ropeTables, rotary, swiglu, transposedMatMulIsFast, type RopeTables, type RotarySpec } from "./ops.ts";

type T2 = tf.Tensor2D;

/** A tensor as GGUF stores it: row-major data, dims in GGUF order (dims[0] fastest). */
export interface RawTensor { name: string; dims: number[]; data: Float32Array }

/** LoRA (or anything else) can add a delta to a projection's output. */
export interface ProjectionHook { delta(name: string, x: T2, training: boolean): T2 | null }

export const LINEAR_SUFFIXES = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] as const;

// The tensor layout lives with the metadata writer (gguf-meta.ts, no tfjs), so `tiny` can write files without loading tfjs.
export { tensorLayout };

/** Seeded random weights in GGUF layout: normal(0, std) matrices, unit norms, small biases. */
export function randomTensors(config: LlamaConfig, seed: number, std = 0.02): RawTensor[] {
  return tensorLayout(config).map(({ name, dims }) => {
    const size = dims.reduce((a, b) => a * b, 1);
    const data = name.endsWith(".bias")
      ? (tf.tidy(() => tf.randomNormal([size], 0, std, "float32", seed++).dataSync()) as Float32Array)
      : dims.length === 1
        ? new Float32Array(size).fill(1)
        : (tf.tidy(() => tf.randomNormal([size], 0, std, "float32", seed++).dataSync()) as Float32Array);
    return { name, dims, data: Float32Array.from(data) };
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
  private ropeCache?: { key: string; tables: RopeTables };

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
      this.weights.set(t.name, this.trainable ? tf.variable(w, true) : w);
      if (this.trainable) w.dispose();
    }
    for (const { name } of tensorLayout(config)) {
      if (!this.weights.has(name)) throw new Error(`model is missing tensor ${name}`);
    }
  }

  /** Small normal weights (std 0.02), unit norms: a model to train from scratch. */
  static random(config: LlamaConfig, seed: number, opts: ModelOptions & { std?: number } = {}): LlamaModel {
    return new LlamaModel(config, randomTensors(config, seed, opts.std ?? 0.02), opts);
  }

  variables(): tf.Variable[] {
    return this.trainable ? [...this.weights.values()] as tf.Variable[] : [];
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

  private tables(batch: number, seq: number): RopeTables {
    const c = this.config;
    const key = `${batch}x${seq}`;
    if (this.ropeCache?.key !== key) {
      if (this.ropeCache) { this.ropeCache.tables.cos.dispose(); this.ropeCache.tables.sin.dispose(); }
      const q = ropeTables(batch, seq, c.heads, c.headDim, c.ropeBase, c.ropeStyle);
      const k = c.kvHeads === c.heads ? q : ropeTables(batch, seq, c.kvHeads, c.headDim, c.ropeBase, c.ropeStyle);
      this.ropeCache = { key, tables: { cos: q.cos, sin: q.sin } };
      this.kTables = k;
    }
    return this.ropeCache.tables;
  }
  private kTables?: RopeTables;

  /** Logits [batch*seq, vocab] for token rows [batch, seq] (row-major). */
  forward(tokens: Int32Array, batch: number, seq: number, opts: ForwardOptions = {}): T2 {
    const c = this.config;
    const training = opts.training ?? false;
    const packed = opts.positions && !isPlainPositions(opts.positions, seq);
    const shape = { batch, seq, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, positions: packed ? opts.positions : undefined };
    return tf.tidy(() => {
      // Packed rows restart positions at each example: tables per batch (tidied), else the cached ones.
      // Tables are built only when the tfjs rope runs (the fused kernel takes positions).
      let qTables: RopeTables | undefined, kTables: RopeTables | undefined;
      const tables = (): [RopeTables, RopeTables] => {
        if (!qTables) {
          if (packed) {
            qTables = ropeTables(batch, seq, c.heads, c.headDim, c.ropeBase, c.ropeStyle, opts.positions, false);
            kTables = c.kvHeads === c.heads ? qTables : ropeTables(batch, seq, c.kvHeads, c.headDim, c.ropeBase, c.ropeStyle, opts.positions, false);
          } else {
            qTables = this.tables(batch, seq);
            kTables = this.kTables!;
          }
        }
        return [qTables, kTables!];
      };
      const positions = packed ? opts.positions! : plainPositions(batch, seq);
      const spec = (heads: number, which: 0 | 1): RotarySpec => ({ heads, headDim: c.headDim, base: c.ropeBase, style: c.ropeStyle, positions, tables: () => tables()[which] });
      const qSpec = spec(c.heads, 0), kSpec = spec(c.kvHeads, 1);
      const emb = this.w("token_embd.weight") as T2;
      let x = this.trainable ? embedding(emb, tokens) : gatherRows(emb, tokens);
      for (let l = 0; l < c.layers; l++) {
        const p = `blk.${l}.`;
        const h = rmsNorm(x, this.w(`${p}attn_norm.weight`) as tf.Tensor1D, c.normEps, this.trainable);
        const q = rotary(this.project(`${p}attn_q`, h, opts.hook, training), qSpec);
        const k = rotary(this.project(`${p}attn_k`, h, opts.hook, training), kSpec);
        const v = this.project(`${p}attn_v`, h, opts.hook, training);
        x = tf.add(x, this.project(`${p}attn_output`, attention(q, k, v, shape), opts.hook, training));
        const m = rmsNorm(x, this.w(`${p}ffn_norm.weight`) as tf.Tensor1D, c.normEps, this.trainable);
        const act = swiglu(this.project(`${p}ffn_gate`, m, opts.hook, training), this.project(`${p}ffn_up`, m, opts.hook, training));
        x = tf.add(x, this.project(`${p}ffn_down`, act, opts.hook, training));
      }
      const hN = rmsNorm(x, this.w("output_norm.weight") as tf.Tensor1D, c.normEps, this.trainable);
      if (!c.tiedOutput) return this.project("output", hN, opts.hook, training);
      const table = this.w("token_embd.weight") as T2;
      // Tied output: logits = h @ E^T; E is [vocab, dim] = the [out, in] layout already.
      if (transposedMatMulIsFast()) return this.trainable ? linearTransposed(hN, table) : tf.matMul(hN, table, false, true);
      return this.trainable ? linear(hN, tf.transpose(table)) : linearFrozen(hN, this.tiedT ??= tf.keep(tf.transpose(table)), table);
    });
  }
  private tiedT?: T2;

  /** Mean next-token loss over positions with weight > 0. */
  loss(batch: Batch, opts: ForwardOptions = {}): tf.Scalar {
    return tf.tidy(() => {
      const logits = this.forward(batch.inputs, batch.batch, batch.seq, { ...opts, positions: batch.positions });
      return maskedCrossEntropy(logits, batch.targets, batch.weights);
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
    if (this.ropeCache) { this.ropeCache.tables.cos.dispose(); this.ropeCache.tables.sin.dispose(); }
    if (this.kTables && this.kTables.cos !== this.ropeCache?.tables.cos) { this.kTables.cos.dispose(); this.kTables.sin.dispose(); }
  }
}

/**
 * One training batch: inputs[i] predicts targets[i]; weights[i] = 0 for prompt and padding.
 * positions (optional): each packed example restarts at 0 and attends only to itself.
 */
export interface Batch { batch: number; seq: number; inputs: Int32Array; targets: Int32Array; weights: Float32Array; positions?: Int32Array }

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
