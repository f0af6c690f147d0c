// AdamW with decoupled weight decay, a warmup + cosine learning-rate schedule and global-norm clipping.
import { tf } from "../kernels/backend.ts";
import { fusedOps } from "../kernels/fused-ops.ts";

export interface AdamWOptions { beta1?: number; beta2?: number; eps?: number; weightDecay?: number }

export interface AdamWState { step: number; m: Float32Array[]; v: Float32Array[] }

export class AdamW {
  readonly vars: tf.Variable[];
  private readonly m: tf.Tensor[];
  private readonly v: tf.Tensor[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  step = 0;

  constructor(vars: tf.Variable[], opts: AdamWOptions = {}) {
    this.vars = vars;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.m = vars.map((x) => tf.keep(tf.zerosLike(x)));
    this.v = vars.map((x) => tf.keep(tf.zerosLike(x)));
  }

  /**
   * One update with `grads[i] * gradScale` for `vars[i]` (the scale carries clipping and accumulation
   * without another pass over the gradients). Decay applies to matrices only (not norms or biases).
   */
  apply(grads: tf.Tensor[], lr: number, gradScale = 1): void {
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    const fused = fusedOps()?.adamw;
    for (let i = 0; i < this.vars.length; i++) {
      const x = this.vars[i]!;
      if (fused) {
        const decay = this.weightDecay > 0 && x.rank >= 2 ? this.weightDecay : 0;
        const [p, m, v] = fused(x, grads[i]!, this.m[i]!, this.v[i]!, { lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, bc1, bc2, decay, gradScale });
        x.assign(p);
        p.dispose();
        this.m[i]!.dispose();
        this.v[i]!.dispose();
        this.m[i] = tf.keep(m);
        this.v[i] = tf.keep(v);
        continue;
      }
      const g = gradScale === 1 ? grads[i]! : tf.mul(grads[i]!, gradScale);
      const [m, v] = tf.tidy(() => [
        tf.keep(tf.add(tf.mul(this.m[i]!, this.beta1), tf.mul(g, 1 - this.beta1))),
        tf.keep(tf.add(tf.mul(this.v[i]!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2))),
      ]);
      this.m[i]!.dispose();
      this.v[i]!.dispose();
      this.m[i] = m!;
      this.v[i] = v!;
      if (g !== grads[i]) g.dispose();
      tf.tidy(() => {
        const update = tf.div(tf.div(m!, bc1), tf.add(tf.sqrt(tf.div(v!, bc2)), this.eps));
        let next = tf.sub(x, tf.mul(update, lr));
        if (this.weightDecay > 0 && x.rank >= 2) next = tf.sub(next, tf.mul(x, lr * this.weightDecay));
        x.assign(next);
      });
    }
  }

  state(): AdamWState {
    return { step: this.step, m: this.m.map((t) => (t.dataSync() as Float32Array).slice()), v: this.v.map((t) => (t.dataSync() as Float32Array).slice()) };
  }

  load(s: AdamWState): void {
    if (s.m.length !== this.vars.length) throw new Error(`optimizer state has ${s.m.length} tensors, the model ${this.vars.length}`);
    this.step = s.step;
    for (let i = 0; i < this.vars.length; i++) {
      this.m[i]!.dispose();
      this.v[i]!.dispose();
      this.m[i] = tf.keep(tf.tensor(s.m[i]!, this.vars[i]!.shape));
      this.v[i] = tf.keep(tf.tensor(s.v[i]!, this.vars[i]!.shape));
    }
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

/** Linear warmup to `peak`, then cosine decay to `peak * minRatio` at `total` steps. */
export function learningRate(step: number, total: number, peak: number, warmup: number, minRatio = 0.1): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const p = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * p)));
}

/** The global L2 norm of all gradients. */
export function globalNorm(grads: tf.Tensor[]): number {
  const squares = fusedOps()?.sumOfSquares ?? ((g: tf.Tensor) => tf.sum(tf.square(g)));
  return Math.sqrt(tf.tidy(() => tf.addN(grads.map((g) => squares(g))).dataSync()[0]!));
}

/** The factor that brings gradients of global norm `norm` down to at most `maxNorm` (1: no clipping). */
export function clipFactor(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}
