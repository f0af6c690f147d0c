// AdamW with decoupled weight decay, a warmup + cosine learning-rate schedule and global-norm clipping.
import { tf } from "./backend.ts";

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

  /** One update with `grads[i]` for `vars[i]`. Decay applies to matrices only (not norms or biases). */
  apply(grads: tf.Tensor[], lr: number): void {
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    for (let i = 0; i < this.vars.length; i++) {
      const x = this.vars[i]!;
      const g = grads[i]!;
      const [m, v] = tf.tidy(() => [
        tf.keep(tf.add(tf.mul(this.m[i]!, this.beta1), tf.mul(g, 1 - this.beta1))),
        tf.keep(tf.add(tf.mul(this.v[i]!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2))),
      ]);
      this.m[i]!.dispose();
      this.v[i]!.dispose();
      this.m[i] = m!;
      this.v[i] = v!;
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

/** Scale gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: number } {
  const norm = Math.sqrt(tf.tidy(() => tf.addN(grads.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
  if (!(maxNorm > 0) || norm <= maxNorm) return { grads, norm };
  const factor = maxNorm / (norm + 1e-6);
  const clipped = grads.map((g) => tf.mul(g, factor));
  for (const g of grads) g.dispose();
  return { grads: clipped, norm };
}
