// How close two next-token predictors are: top-1 agreement and mean KL divergence over a token sequence,
// and the gates verify applies to them for each kind of weights (thresholds measured in bench/verify-gate.ts).
import type { GgmlTypeName } from "../gguf/types.ts";

export interface ParityStats {
  positions: number;
  /** Fraction of positions where both pick the same next token. */
  top1: number;
  /**
   * The same, counting as agreement a different pick that the reference rates within NEAR_TIE nats of its own
   * (a near tie that f16 or 8-bit activation rounding decides either way).
   */
  top1Ties: number;
  /** Mean over positions of KL(reference ‖ candidate), in nats. */
  meanKl: number;
  maxKl: number;
  /** Largest gap (nats, under the reference) between the two picks where they differ; 0 when they never do. */
  maxGap: number;
}

/** Smallest probability a candidate is taken to give a token (llama.cpp's f32 softmax underflows to 0 past ~1e-45). */
const FLOOR = 1e-30;

/**
 * Log-probability gap (nats) under which two picks are a tie that llama.cpp's own rounding can flip: on correct
 * f16 models the picks that differed were at most 0.051 nats apart (raw top-1 down to 98.0%, bench/verify-gate.ts);
 * a wrong rope base's differ by up to 2.5–21 nats.
 */
export const NEAR_TIE = 0.06;

/** Collects per-position results into ParityStats. */
export class ParityTally {
  private n = 0;
  private same = 0;
  private tied = 0;
  private klSum = 0;
  private klMax = 0;
  private gapMax = 0;
  /** `gap`: the reference's log-probability of its own pick minus that of the candidate's pick (0 when equal). */
  add(refTop: number, candTop: number, kl: number, gap: number): void {
    this.n++;
    if (refTop === candTop) this.same++;
    if (refTop === candTop || gap <= NEAR_TIE) this.tied++;
    if (refTop !== candTop && gap > this.gapMax) this.gapMax = gap;
    this.klSum += kl;
    if (kl > this.klMax) this.klMax = kl;
  }
  stats(): ParityStats {
    return { positions: this.n, top1: this.n ? this.same / this.n : 0, top1Ties: this.n ? this.tied / this.n : 0, meanKl: this.n ? this.klSum / this.n : 0, maxKl: this.klMax, maxGap: this.gapMax };
  }
}

// Distributions are dense: p[t] is the probability of token t (llama.cpp's float32 values), a token past the array's
// end has none. Loops over typed arrays: at a 150k vocabulary a position costs a few milliseconds.

const LOG_FLOOR = Math.log(FLOOR);

/** KL(P ‖ softmax(logits[offset .. offset+vocab])) with P as llama.cpp gives it. */
export function klToLogits(p: Float32Array, logits: Float32Array, offset: number, vocab: number): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[offset + i]! > max) max = logits[offset + i]!;
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i]! - max);
  const logZ = max + Math.log(sum);
  let kl = 0;
  for (let t = 0; t < p.length; t++) {
    const pi = p[t]!;
    if (pi <= 0) continue;
    const lq = t < vocab ? logits[offset + t]! - logZ : LOG_FLOOR;
    kl += pi * (Math.log(pi) - lq);
  }
  return Math.max(0, kl);
}

/** log P(a) − log P(b): how much the reference prefers its pick `a` over `b`. */
export function gapOf(p: Float32Array, a: number, b: number): number {
  if (a === b) return 0;
  return Math.log(Math.max(p[a] ?? 0, FLOOR)) - Math.log(Math.max(p[b] ?? 0, FLOOR));
}

/** KL(P ‖ Q) for two llama.cpp distributions over the same vocabulary. */
export function klBetween(p: Float32Array, q: Float32Array): number {
  let kl = 0;
  for (let t = 0; t < p.length; t++) {
    const pi = p[t]!;
    if (pi <= 0) continue;
    kl += pi * (Math.log(pi) - Math.log(Math.max(q[t] ?? 0, FLOOR)));
  }
  return Math.max(0, kl);
}

/** Index of the largest logit in a row. */
export function argmaxRow(logits: Float32Array, offset: number, vocab: number): number {
  let best = 0;
  for (let i = 1; i < vocab; i++) if (logits[offset + i]! > logits[offset + best]!) best = i;
  return best;
}

/** What the weights of a file are, for choosing a gate: float (f32/f16/bf16), q8_0, or smaller quants. */
export type WeightClass = "float" | "q8_0" | "smaller";

export function weightClass(types: Iterable<GgmlTypeName | string>): WeightClass {
  let cls: WeightClass = "float";
  for (const t of types) {
    if (t === "F32" || t === "F16" || t === "BF16") continue;
    if (t === "Q8_0") cls = cls === "float" ? "q8_0" : cls;
    else return "smaller";
  }
  return cls;
}

export interface ParityGate { minTop1: number; maxMeanKl: number }

/**
 * Our tfjs forward (f32 on the dequantized weights) against llama.cpp on the same file. The only honest
 * differences are llama.cpp's arithmetic: f16 activations in f16 matmuls, activations rounded to 8 bits for
 * quantized dot products. From bench/verify-gate.ts (bench/RESULTS.md; 18 random models per weight type, top-1
 * counting near ties):
 * - float: correct ≤ 1.4e-4 nats and 100%; a rope base or linear scaling read wrong ≥ 4.7e-2 and ≤ 61.7%;
 *   Llama-3 rope factors ignored ≥ 9.7e-3 and ≤ 93.4% wherever attention depends on position (std ≥ 0.1).
 * - q8_0: correct ≤ 8.7e-3 and ≥ 94.5%; a wrong base or scaling ≥ 4.7e-2 and ≤ 62.5%.
 * - 4–6-bit: correct reach 8.0e-2 and 79.3%, a wrong base or scaling ≤ 68.0%: only gross errors are told apart
 *   on the file itself, so export also holds our forward to the float gate on the all-f16 twin.
 */
export const PARITY_GATES: Record<WeightClass, ParityGate> = {
  float: { minTop1: 0.99, maxMeanKl: 1e-3 },
  q8_0: { minTop1: 0.9, maxMeanKl: 0.02 },
  smaller: { minTop1: 0.75, maxMeanKl: 0.25 },
};

/**
 * Exported model against its f16 twin, both in llama.cpp: what the rounding costs. Reported, and a warning past
 * these levels (twice the largest seen on random fixtures at std ≤ 0.1; trained models are far less sensitive).
 */
export const QUANT_KL_WARN: Record<WeightClass, number> = { float: 1e-3, q8_0: 0.012, smaller: 1.4 };

/** Does our forward pass the gate for this kind of weights? The detail names both numbers and both limits. */
export function gateParity(s: ParityStats, cls: WeightClass): { ok: boolean; detail: string } {
  const g = PARITY_GATES[cls];
  const ok = s.positions > 0 && s.top1Ties >= g.minTop1 && s.meanKl <= g.maxMeanKl;
  return { ok, detail: `${describeParity(s)}; ${cls === "float" ? "float" : cls} weights need top-1 ≥ ${+(g.minTop1 * 100).toFixed(1)}% and mean KL ≤ ${g.maxMeanKl}` };
}

export function describeParity(s: ParityStats): string {
  return `${(s.top1 * 100).toFixed(1)}% top-1 agreement (${(s.top1Ties * 100).toFixed(1)}% counting near ties), mean KL ${s.meanKl.toExponential(2)} nats (max ${s.maxKl.toExponential(2)}) over ${s.positions} positions`;
}
