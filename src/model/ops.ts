// The differentiable building blocks of the llama forward pass, shaped for speed on tfjs-wasm:
// only plain 2-D matMul (XNNPACK's fast path), explicit transposes in backward passes, attention as
// per-(batch, head) 2-D matmuls recomputed in the backward pass, temporaries freed inside gradients.
import { tf } from "../kernels/backend.ts";
import { fastBatchedMatMul, fusedOps, type AttentionShape, type RopeTables, type RotarySpec } from "../kernels/fused-ops.ts";
import type { RopeStyle } from "../gguf/types.ts";
import { custom } from "../kernels/custom-grad.ts";

export type { AttentionShape, RopeTables, RotarySpec };

type T2 = tf.Tensor2D;

/**
 * y = x @ W with W frozen: only dx flows. `wT` ([out, in]) is W transposed, kept to avoid a per-step
 * transpose where transposed matMul is slow (stock wasm); with a fast one the flag does it for free.
 */
export function linearFrozen(x: T2, w: T2, wT?: T2): T2 {
  const f = custom((xIn: tf.Tensor) => ({
    value: tf.matMul(xIn as T2, w),
    gradFunc: (dy: tf.Tensor) => fastBatchedMatMul()
      ? tf.matMul(dy as T2, w, false, true)
      : tf.tidy(() => tf.matMul(dy as T2, wT ?? tf.transpose(w))),
  }));
  return f(x) as T2;
}

/** y = x @ W with W trainable: gradients for both. */
export function linear(x: T2, w: T2): T2 {
  const f = custom((xIn: tf.Tensor, wIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xIn, wIn]);
    return {
      value: tf.matMul(xIn as T2, wIn as T2),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [T2, T2];
        if (fastBatchedMatMul()) return [tf.matMul(dy as T2, ws, false, true), tf.matMul(xs, dy as T2, true, false)];
        return [
          tf.tidy(() => tf.matMul(dy as T2, tf.transpose(ws))),
          tf.tidy(() => tf.matMul(tf.transpose(xs), dy as T2)),
        ];
      },
    };
  });
  return f(x, w) as T2;
}

/**
 * y = x @ Wᵀ with W ([out, in]) trainable — the tied output head on the embedding table, without
 * transposing the table each step. Only used where transposed matMul is fast.
 */
export function linearTransposed(x: T2, w: T2): T2 {
  const f = custom((xIn: tf.Tensor, wIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xIn, wIn]);
    return {
      value: tf.matMul(xIn as T2, wIn as T2, false, true),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [T2, T2];
        return [tf.matMul(dy as T2, ws), tf.matMul(dy as T2, xs, true, false)];
      },
    };
  });
  return f(x, w) as T2;
}

/**
 * Embedding lookup whose gradient is a scatter-add done in JS (wasm has no UnsortedSegmentSum kernel,
 * which tf.gather's gradient needs).
 */
export function embedding(table: T2, ids: Int32Array): T2 {
  const [vocab, dim] = table.shape;
  const f = custom((tIn: tf.Tensor) => ({
    value: gatherRows(tIn as T2, ids),
    gradFunc: (dy: tf.Tensor) => {
      const g = dy.dataSync() as Float32Array;
      const out = new Float32Array(vocab * dim);
      for (let i = 0; i < ids.length; i++) {
        const o = ids[i]! * dim;
        for (let j = 0; j < dim; j++) out[o + j] = out[o + j]! + g[i * dim + j]!;
      }
      return tf.tensor2d(out, [vocab, dim]);
    },
  }));
  return f(table) as T2;
}

/**
 * table[ids] (rows). When the table has at most 4x as many rows as are picked, a copy through JS
 * memory: tfjs-wasm's Gather kernel took 21-38 ms for 2048 rows of a 512x256 or 2048x512 table, the
 * JS copy 4-11 ms. Large vocabularies (real models) keep tf.gather rather than copying the whole table.
 */
export function gatherRows(table: T2, ids: Int32Array): T2 {
  const [vocab, dim] = table.shape;
  if (vocab > 4 * ids.length) return tf.gather(table, tf.tensor1d(ids, "int32"));
  const src = table.dataSync() as Float32Array;
  const out = new Float32Array(ids.length * dim);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < vocab)) throw new Error(`token id ${id} is outside the vocabulary (${vocab})`);
    out.set(src.subarray(id * dim, id * dim + dim), i * dim);
  }
  return tf.tensor2d(out, [ids.length, dim]);
}

/**
 * y = x * rsqrt(mean(x²) + eps) * w, with a hand-written backward (half the full-size kernels of
 * tfjs's autodiff through square/mean/rsqrt/mul): dx = r * (g - x * r² * mean(g * x)) with g = dy * w,
 * dw = Σ_rows dy * x * r. `weightGrad` false (frozen weights) skips dw; the weight is then a
 * constant of the function, which is safe because model weights outlive every tidy().
 */
export function rmsNorm(x: T2, weight: tf.Tensor1D, eps: number, weightGrad = true): T2 {
  const fused = fusedOps();
  if (fused?.rmsNorm) return fused.rmsNorm(x, weight, eps, weightGrad);
  const rInv = (xs: tf.Tensor) => tf.rsqrt(tf.add(tf.mean(tf.square(xs), -1, true), eps));
  const dx = (dy: tf.Tensor, xs: tf.Tensor, w: tf.Tensor, r: tf.Tensor) => {
    const g = tf.mul(dy, w);
    return tf.mul(r, tf.sub(g, tf.mul(xs, tf.mul(tf.square(r), tf.mean(tf.mul(g, xs), -1, true)))));
  };
  if (!weightGrad) {
    const f = custom((xIn: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xIn]);
      return {
        value: tf.tidy(() => tf.mul(tf.mul(xIn, rInv(xIn)), weight)),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => dx(dy, saved[0]!, weight, rInv(saved[0]!))),
      };
    });
    return f(x) as T2;
  }
  const f = custom((xIn: tf.Tensor, wIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xIn, wIn]);
    return {
      value: tf.tidy(() => tf.mul(tf.mul(xIn, rInv(xIn)), wIn)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, w] = saved as [tf.Tensor, tf.Tensor];
        return tf.tidy(() => {
          const r = rInv(xs);
          return [dx(dy, xs, w, r), tf.sum(tf.mul(dy, tf.mul(xs, r)), 0)];
        });
      },
    };
  });
  return f(x, weight) as T2;
}

export function swiglu(gate: T2, up: T2): T2 {
  const fused = fusedOps();
  if (fused?.swiglu) return fused.swiglu(gate, up);
  return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as T2;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/**
 * gelu(gate) * up with the tanh GELU llama.cpp uses (ggml_gelu: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))),
 * gemma's gated FFN. One custom gradient: d/dx gelu = 0.5(1 + t) + 0.5x(1 - t²)·√(2/π)(1 + 3·0.044715x²).
 */
export function geglu(gate: T2, up: T2): T2 {
  const f = custom((g: tf.Tensor, u: tf.Tensor, save: tf.GradSaveFunc) => {
    save([g, u]);
    const tanhOf = (x: tf.Tensor) => tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI));
    return {
      value: tf.tidy(() => tf.mul(tf.mul(tf.mul(g, 0.5), tf.add(tanhOf(g), 1)), u)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [x, up2] = saved as [tf.Tensor, tf.Tensor];
        const t = tanhOf(x);
        const gelu = tf.mul(tf.mul(x, 0.5), tf.add(t, 1));
        const dt = tf.mul(tf.sub(1, tf.square(t)), tf.mul(tf.add(tf.mul(tf.square(x), 3 * 0.044715), 1), SQRT_2_OVER_PI));
        const dgelu = tf.add(tf.mul(tf.add(t, 1), 0.5), tf.mul(tf.mul(x, 0.5), dt));
        return [tf.mul(tf.mul(dy, up2), dgelu), tf.mul(dy, gelu)];
      }),
    };
  });
  return f(gate, up) as T2;
}

/** cap · tanh(x / cap): gemma's final logit soft-capping (tfjs's tanh gradient carries it). */
export function softcap(x: T2, cap: number): T2 {
  return tf.tidy(() => tf.mul(tf.tanh(tf.div(x, cap)), cap) as T2);
}

/**
 * RMSNorm of each head's slice of rows [N, heads*headDim] with one [headDim] weight (qwen3 / gemma3
 * attn_q_norm and attn_k_norm: llama.cpp's build_norm on the [headDim, heads, N] view).
 */
export function headRmsNorm(x: T2, weight: tf.Tensor1D, heads: number, eps: number, weightGrad = true): T2 {
  const [n, width] = x.shape;
  const rows = tf.reshape(x, [n * heads, width / heads]) as T2;
  return tf.reshape(rmsNorm(rows, weight, eps, weightGrad), [n, width]) as T2;
}

/**
 * The rotation speed of each pair i < headDim/2, as ggml_rope_ext computes it (ggml-cpu ops.cpp rope_yarn with
 * ext_factor 0): theta_i = freq_scale · base^(-2i/headDim) / freq_factors[i]. freq_scale is linear rope
 * scaling (1 / rope.scaling.factor); freq_factors are Llama-3's rope_freqs.weight.
 */
export function ropeInvFreq(headDim: number, base: number, scale = 1, factors?: Float32Array): Float64Array {
  const half = headDim / 2;
  if (factors && factors.length !== half) throw new Error(`rope frequency factors have ${factors.length} values, want headDim/2 = ${half}`);
  // Double precision, so a plain rope (scale 1, no factors) gives exactly the angles it always had.
  return Float64Array.from({ length: half }, (_, i) => (scale * Math.pow(base, (-2 * i) / headDim)) / (factors ? factors[i]! : 1));
}

/**
 * cos/sin per row and column for rope(). `ropeDims` < headDim (phi3's partial rope): only the first ropeDims of
 * each head turn (pairs within them, angles from invFreq over ropeDims), the rest pass through (cos 1, sin 0).
 * `mscale` scales the turned dims (not the passed-through ones), as ggml's rope_yarn does.
 */
export function ropeTables(batch: number, seq: number, heads: number, headDim: number, base: number, style: RopeStyle, positions?: Int32Array, keep = true, invFreq?: Float64Array, ropeDims = headDim, mscale = 1): RopeTables {
  const half = ropeDims / 2;
  const width = heads * headDim;
  const cos = new Float32Array(batch * seq * width);
  const sin = new Float32Array(batch * seq * width);
  if (ropeDims < headDim) cos.fill(1);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) {
      const pos = positions ? positions[b * seq + t]! : t;
      const row = (b * seq + t) * width;
      for (let i = 0; i < half; i++) {
        const theta = pos * (invFreq ? invFreq[i]! : Math.pow(base, (-2 * i) / ropeDims));
        // mscale: rope.scaling.attn_factor, which ggml_rope_ext multiplies into cos and sin.
        const c = Math.cos(theta) * mscale;
        const s = Math.sin(theta) * mscale;
        // NORM pairs (2i, 2i+1); NEOX pairs (i, i+half); the sign of sin lives in the swap matrix.
        const a = style === "norm" ? 2 * i : i;
        const bIdx = style === "norm" ? 2 * i + 1 : i + half;
        for (let h = 0; h < heads; h++) {
          const o = row + h * headDim;
          cos[o + a] = c; cos[o + bIdx] = c;
          sin[o + a] = s; sin[o + bIdx] = s;
        }
      }
    }
  }
  // Kept when cached across steps (they may be created inside someone's tidy()).
  const k = <X extends tf.Tensor>(t: X) => (keep ? tf.keep(t) : t);
  return { cos: k(tf.tensor2d(cos, [batch * seq, width])), sin: k(tf.tensor2d(sin, [batch * seq, width])) };
}

const swapCache = new Map<string, { r: T2; rT: T2 }>();
/**
 * The signed pair swap as a [hd, hd] matrix R (x @ R puts -x_b at a and x_a at b for each rotated
 * pair (a, b)) and its transpose for the backward pass. A plain 2-D matmul per head is far cheaper on
 * wasm than slices, or than tf.reverse's generic kernel. Pairs lie within the first ropeDims dims.
 */
function swapMatrix(headDim: number, style: RopeStyle, ropeDims = headDim): { r: T2; rT: T2 } {
  const key = `${headDim}:${style}:${ropeDims}`;
  let m = swapCache.get(key);
  if (!m || m.r.isDisposed) {
    const half = ropeDims / 2;
    const r = new Float32Array(headDim * headDim);
    for (let i = 0; i < half; i++) {
      const a = style === "norm" ? 2 * i : i;
      const b = style === "norm" ? 2 * i + 1 : i + half;
      r[b * headDim + a] = -1; // out[a] = -x[b]
      r[a * headDim + b] = 1; //  out[b] = x[a]
    }
    const rt = tf.tensor2d(r, [headDim, headDim]);
    m = { r: tf.keep(rt), rT: tf.keep(tf.transpose(rt)) };
    swapCache.set(key, m);
  }
  return m;
}

/** llama.cpp's rope on rows [B*T, heads*headDim]: the fused kernel when active, else rope() on tables. */
export function rotary(x: T2, spec: RotarySpec): T2 {
  const fused = fusedOps();
  // The native kernel turns whole heads: partial rope takes the tables.
  const partial = spec.ropeDims !== undefined && spec.ropeDims < spec.headDim;
  return fused?.rope && !partial ? fused.rope(x, spec) : rope(x, spec.tables(), spec.headDim, spec.style, spec.ropeDims);
}

/** x' = x*cos + (x @ R)*|sin| per head: llama.cpp's rope, NORM (adjacent pairs) or NEOX (halves). */
export function rope(x: T2, tables: RopeTables, headDim: number, style: RopeStyle, ropeDims = headDim): T2 {
  const { r, rT } = swapMatrix(headDim, style, ropeDims);
  const [n, width] = x.shape;
  const swap = custom((xIn: tf.Tensor) => ({
    value: tf.reshape(tf.matMul(tf.reshape(xIn, [n * width / headDim, headDim]) as T2, r), [n, width]),
    gradFunc: (dy: tf.Tensor) => tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(dy, [n * width / headDim, headDim]) as T2, rT), [n, width])),
  }));
  return tf.tidy(() => tf.add(tf.mul(x, tables.cos), tf.mul(swap(x), tables.sin)) as T2);
}

const maskCache = new Map<string, T2>();
/**
 * Additive causal mask [T, T]: 0 on and below the diagonal, a large negative number above; with a sliding
 * window, also below i - window + 1 (llama.cpp is_masked_swa, STANDARD: masked when p_q - p_k >= window).
 */
function causalMask(seq: number, window = 0): T2 {
  const key = `${seq}:${window}`;
  let m = maskCache.get(key);
  if (!m || m.isDisposed) {
    const data = new Float32Array(seq * seq);
    for (let i = 0; i < seq; i++) for (let j = 0; j < seq; j++) if (j > i || (window > 0 && i - j >= window)) data[i * seq + j] = -1e9;
    m = tf.keep(tf.tensor2d(data, [seq, seq]));
    maskCache.set(key, m);
  }
  return m;
}

/** Whether a sliding window masks anything at this length (a key at most seq - 1 positions back). */
export function windowBinds(s: AttentionShape): boolean {
  return !!s.window && s.window < s.seq;
}

/**
 * [B*T, H*hd] → B*H matrices [T, hd] (head-major), or their transposes [hd, T]. Split through JS
 * memory: tf.unstack's per-slice kernel costs a pass over the whole tensor for every slice on wasm.
 */
function perHead(x: T2, batch: number, seq: number, heads: number, headDim: number, transposed: boolean): T2[] {
  const x4 = tf.reshape(x, [batch, seq, heads, headDim]);
  const perm = transposed ? [0, 2, 3, 1] : [0, 2, 1, 3];
  const shape: [number, number] = transposed ? [headDim, seq] : [seq, headDim];
  const t = tf.transpose(x4, perm);
  const data = t.dataSync() as Float32Array;
  t.dispose();
  const size = seq * headDim;
  return Array.from({ length: batch * heads }, (_, i) => tf.tensor2d(data.subarray(i * size, (i + 1) * size), shape));
}

/** Inverse of perHead (untransposed): B*H matrices [T, hd] → [B*T, H*hd]. */
function fromHeads(mats: tf.Tensor[], batch: number, seq: number, heads: number, headDim: number): T2 {
  const all = tf.reshape(tf.stack(mats), [batch, heads, seq, headDim]);
  return tf.reshape<tf.Rank.R2>(tf.transpose(all, [0, 2, 1, 3]), [batch * seq, heads * headDim]);
}

/** Per-row mask for packed rows: token i sees j when i - positions[i] <= j <= i (its own example only). */
function packedMask(positions: Int32Array, row: number, seq: number, window = 0): T2 {
  const data = new Float32Array(seq * seq).fill(-1e9);
  for (let i = 0; i < seq; i++) {
    const start = Math.max(i - positions[row * seq + i]!, window > 0 ? i - window + 1 : 0);
    for (let j = Math.max(0, start); j <= i; j++) data[i * seq + j] = 0;
  }
  return tf.tensor2d(data, [seq, seq]);
}

/**
 * Causal grouped-query attention on rows [B*T, H*hd] / [B*T, KV*hd]. Query head h reads kv head
 * floor(h / (H/KV)) (llama.cpp and HF repeat_kv agree). The backward pass recomputes the
 * probabilities instead of keeping B*H*T*T of them alive.
 */
export function attention(q: T2, k: T2, v: T2, s: AttentionShape): T2 {
  const fused = fusedOps();
  // The native kernel knows no window and no soft-capping: those take the tfjs path.
  if (fused?.attention && !windowBinds(s) && !s.softcap) return fused.attention(q, k, v, s);
  if (fastBatchedMatMul()) return attentionBatched(q, k, v, s);
  const { batch, seq, heads, kvHeads, headDim } = s;
  const group = heads / kvHeads;
  const scale = 1 / Math.sqrt(headDim);
  // Masks are rebuilt inside forward and backward: tensors captured from outside would be tidied away.
  const window = windowBinds(s) ? s.window! : 0;
  const masks = (): T2[] => s.positions ? Array.from({ length: batch }, (_, b) => packedMask(s.positions!, b, seq, window)) : new Array(batch).fill(causalMask(seq, window));
  const { capped, capSlope } = scoreCap(s.softcap);
  const probs = (qh: T2, kT: T2, mask: T2): T2 => tf.softmax(tf.add(capped(tf.mul(tf.matMul(qh, kT), scale)), mask)) as T2;

  const f = custom((qIn: tf.Tensor, kIn: tf.Tensor, vIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([qIn, kIn, vIn]);
    const value = tf.tidy(() => {
      const qs = perHead(qIn as T2, batch, seq, heads, headDim, false);
      const kTs = perHead(kIn as T2, batch, seq, kvHeads, headDim, true);
      const vs = perHead(vIn as T2, batch, seq, kvHeads, headDim, false);
      const mask = masks();
      const outs: T2[] = [];
      for (let b = 0; b < batch; b++) {
        for (let h = 0; h < heads; h++) {
          const kv = b * kvHeads + Math.floor(h / group);
          outs.push(tf.tidy(() => tf.matMul(probs(qs[b * heads + h]!, kTs[kv]!, mask[b]!), vs[kv]!)));
        }
      }
      return fromHeads(outs, batch, seq, heads, headDim);
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs0, ks0, vs0] = saved as [T2, T2, T2];
        return tf.tidy(() => {
          const qs = perHead(qs0, batch, seq, heads, headDim, false);
          const ks = perHead(ks0, batch, seq, kvHeads, headDim, false);
          const kTs = perHead(ks0, batch, seq, kvHeads, headDim, true);
          const vTs = perHead(vs0, batch, seq, kvHeads, headDim, true);
          const dOs = perHead(dy as T2, batch, seq, heads, headDim, false);
          const mask = masks();
          const dQ: T2[] = [];
          const dK: T2[] = new Array(batch * kvHeads);
          const dV: T2[] = new Array(batch * kvHeads);
          for (let b = 0; b < batch; b++) {
            for (let h = 0; h < heads; h++) {
              const i = b * heads + h;
              const kv = b * kvHeads + Math.floor(h / group);
              const [dq, dk, dv] = tf.tidy(() => {
                const p = probs(qs[i]!, kTs[kv]!, mask[b]!);
                const dO = dOs[i]!;
                const dv = tf.matMul(tf.transpose(p), dO);
                const dp = tf.matMul(dO, vTs[kv]!);
                let ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), 1, true)));
                if (s.softcap) ds = tf.mul(ds, capSlope(tf.mul(tf.matMul(qs[i]!, kTs[kv]!), scale)));
                ds = tf.mul(ds, scale) as T2;
                return [tf.matMul(ds as T2, ks[kv]!), tf.matMul(tf.transpose(ds), qs[i]!), dv];
              });
              dQ.push(dq as T2);
              dK[kv] = dK[kv] ? accumulate(dK[kv]!, dk!) : dk as T2;
              dV[kv] = dV[kv] ? accumulate(dV[kv]!, dv!) : dv as T2;
            }
          }
          return [
            fromHeads(dQ, batch, seq, heads, headDim),
            fromHeads(dK, batch, seq, kvHeads, headDim),
            fromHeads(dV, batch, seq, kvHeads, headDim),
          ];
        });
      },
    };
  });
  return f(q, k, v) as T2;
}

/** Whether matMul's transpose flags cost nothing extra (native BLAS or libtensorflow): see fastBatchedMatMul. */
export function transposedMatMulIsFast(): boolean { return fastBatchedMatMul(); }

/** [B*T, nh*hd] → [B*KV, group*T, hd]: the query heads that share a kv head stacked along rows. */
function toGroups(x: tf.Tensor, batch: number, seq: number, kvHeads: number, group: number, headDim: number): tf.Tensor3D {
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, seq, kvHeads, group, headDim]), [0, 2, 3, 1, 4]), [batch * kvHeads, group * seq, headDim]);
}
function fromGroups(x: tf.Tensor, batch: number, seq: number, kvHeads: number, group: number, headDim: number): T2 {
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, kvHeads, group, seq, headDim]), [0, 3, 1, 2, 4]), [batch * seq, kvHeads * group * headDim]);
}

/** The same attention as attention() with batched matmuls (query head h uses kv head floor(h / group)). */
function attentionBatched(q: T2, k: T2, v: T2, s: AttentionShape): T2 {
  const { batch, seq, heads, kvHeads, headDim } = s;
  const group = heads / kvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const window = windowBinds(s) ? s.window! : 0;
  const mask = (): tf.Tensor => s.positions
    ? tf.reshape(tf.stack(Array.from({ length: batch }, (_, b) => packedMask(s.positions!, b, seq, window))), [batch, 1, 1, seq, seq])
    : causalMask(seq, window);
  const { capped, capSlope } = scoreCap(s.softcap);
  const probs = (qg: tf.Tensor3D, kg: tf.Tensor3D): tf.Tensor3D => {
    const scores = tf.reshape(capped(tf.mul(tf.matMul(qg, kg, false, true), scale)), [batch, kvHeads, group, seq, seq]);
    return tf.reshape(tf.softmax(tf.add(scores, mask())), [batch * kvHeads, group * seq, seq]);
  };
  const f = custom((qIn: tf.Tensor, kIn: tf.Tensor, vIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([qIn, kIn, vIn]);
    const value = tf.tidy(() => {
      const p = probs(toGroups(qIn, batch, seq, kvHeads, group, headDim), toGroups(kIn, batch, seq, kvHeads, 1, headDim));
      return fromGroups(tf.matMul(p, toGroups(vIn, batch, seq, kvHeads, 1, headDim)), batch, seq, kvHeads, group, headDim);
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const qg = toGroups(saved[0]!, batch, seq, kvHeads, group, headDim);
        const kg = toGroups(saved[1]!, batch, seq, kvHeads, 1, headDim);
        const vg = toGroups(saved[2]!, batch, seq, kvHeads, 1, headDim);
        const dO = toGroups(dy, batch, seq, kvHeads, group, headDim);
        const p = probs(qg, kg);
        const dv = tf.matMul(p, dO, true, false); // sums over the group's rows
        const dp = tf.matMul(dO, vg, false, true);
        let ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true)));
        if (s.softcap) ds = tf.mul(ds, capSlope(tf.mul(tf.matMul(qg, kg, false, true), scale)));
        ds = tf.mul(ds, scale) as tf.Tensor3D;
        return [
          fromGroups(tf.matMul(ds as tf.Tensor3D, kg), batch, seq, kvHeads, group, headDim),
          fromGroups(tf.matMul(ds as tf.Tensor3D, qg, true, false), batch, seq, kvHeads, 1, headDim),
          fromGroups(dv, batch, seq, kvHeads, 1, headDim),
        ];
      }),
    };
  });
  return f(q, k, v) as T2;
}

/**
 * gemma2's attention soft-capping (llama.cpp build_attn_mha: kq = cap · tanh(kq / cap) before the softmax) and
 * the slope of that map for the backward pass; the identity when there is no cap.
 */
function scoreCap(cap?: number) {
  return {
    capped: <X extends tf.Tensor>(z: X): X => (cap ? tf.mul(tf.tanh(tf.div(z, cap)), cap) as X : z),
    capSlope: (z: tf.Tensor): tf.Tensor => tf.sub(1, tf.square(tf.tanh(tf.div(z, cap!)))),
  };
}

function accumulate(a: tf.Tensor, b: tf.Tensor): T2 {
  const sum = tf.add(a, b) as T2;
  a.dispose();
  b.dispose();
  return sum;
}

/**
 * Mean cross-entropy over the positions whose weight is non-zero (weights 0 mask prompt tokens and
 * padding). One custom gradient: softmax - onehot, no [N, V] log-probabilities kept. Targets and
 * weights are plain arrays because tensors captured by a gradient closure would be gone (tidied)
 * by the time the backward pass runs.
 */
export function maskedCrossEntropy(logits: T2, targets: Int32Array, weights: Float32Array): tf.Scalar {
  const fused = fusedOps();
  if (fused?.crossEntropy) return fused.crossEntropy(logits, targets, weights);
  const total = Math.max(weights.reduce((a, b) => a + b, 0), 1e-9);
  const vocab = logits.shape[1];
  const f = custom((lIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([lIn]);
    const value = tf.tidy(() => {
      const lse = tf.logSumExp(lIn, 1);
      // The target logits picked by index (bit-identical to Σ logits * onehot, without the [N, V] one-hot).
      const flat = Int32Array.from(targets, (t, i) => i * vocab + t);
      const picked = tf.gather(tf.reshape(lIn, [-1]), tf.tensor1d(flat, "int32"));
      return tf.div(tf.sum(tf.mul(tf.sub(lse, picked), tf.tensor1d(weights))), total) as tf.Scalar;
    });
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => crossEntropyLogitsGrad(saved[0] as T2, targets, weights, dy) };
  });
  return f(logits) as tf.Scalar;
}

/** (softmax − onehot) · weight · dy / Σ weights: maskedCrossEntropy's gradient with respect to its logits. */
function crossEntropyLogitsGrad(logits: T2, targets: Int32Array, weights: Float32Array, dy: tf.Tensor | number): T2 {
  const total = Math.max(weights.reduce((a, b) => a + b, 0), 1e-9);
  return tf.tidy(() => {
    const w = tf.reshape(tf.div(tf.mul(tf.tensor1d(weights), dy), total), [-1, 1]);
    return tf.mul(tf.sub(tf.softmax(logits), tf.oneHot(tf.tensor1d(targets, "int32"), logits.shape[1])), w) as T2;
  });
}

/**
 * maskedCrossEntropy's gradient with respect to the logits for an upstream gradient dy, computed directly
 * (no tape): for callers that are themselves inside a backward pass, such as the blocked head (head-loss.ts),
 * where tfjs cannot open a nested gradient tape.
 */
export function maskedCrossEntropyGrad(logits: T2, targets: Int32Array, weights: Float32Array, dy: number): T2 {
  return fusedOps()?.crossEntropyGrad?.(logits, targets, weights, dy) ?? crossEntropyLogitsGrad(logits, targets, weights, dy);
}
