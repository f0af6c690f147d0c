// The training loop: micro-batches with gradient accumulation, clipping, AdamW on a warmup + cosine
// schedule, periodic eval on the validation rows, and a state that checkpoints and resumes exactly.
import { mulberry32 } from "../random.ts";
import { tf } from "../kernels/backend.ts";
import type { Lora } from "./lora.ts";
import type { Batch, LlamaModel } from "../model/llama.ts";
import { AdamW, clipFactor, globalNorm, learningRate, type AdamWState } from "./optimizer.ts";
import type { TokenRows } from "./qa-train-files.ts";

export interface TrainOptions {
  epochs: number;
  lr: number;
  /** Rows per micro-batch. */
  batch: number;
  /** Micro-batches per optimizer step. */
  gradAccum: number;
  warmupSteps: number;
  maxGradNorm: number;
  weightDecay: number;
  /** Evaluate on the validation rows every N steps (0: only at the end). */
  evalEvery: number;
  seed: number;
}

export interface StepRecord { step: number; loss: number; lr: number; gradNorm: number; tokens: number; seconds: number }
export interface EvalRecord { step: number; loss: number }

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainerState {
  step: number;
  history: StepRecord[];
  evals: EvalRecord[];
  trainable: Float32Array[];
  optimizer: AdamWState;
}

export interface RunHooks {
  onStep?: (p: ProgressInfo) => void;
  onCheckpoint?: (step: number) => Promise<void> | void;
  shouldStop?: () => boolean;
  checkpointEvery?: number;
}

export interface ProgressInfo { step: number; totalSteps: number; loss: number; lr: number; tokensPerSecond: number; etaSeconds: number; evalLoss?: number }

export class Trainer {
  readonly model: LlamaModel;
  readonly lora?: Lora;
  readonly train: TokenRows;
  readonly valid?: TokenRows;
  readonly opts: TrainOptions;
  readonly vars: tf.Variable[];
  readonly optimizer: AdamW;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  step = 0;
  history: StepRecord[] = [];
  evals: EvalRecord[] = [];

  constructor(model: LlamaModel, lora: Lora | undefined, train: TokenRows, valid: TokenRows | undefined, opts: TrainOptions) {
    this.model = model;
    this.lora = lora;
    this.train = train;
    this.valid = valid;
    this.opts = opts;
    this.vars = lora ? lora.variables() : model.variables();
    if (this.vars.length === 0) throw new Error("nothing to train: the model is frozen and there is no adapter");
    this.optimizer = new AdamW(this.vars, { weightDecay: opts.weightDecay });
    this.stepsPerEpoch = Math.max(1, Math.ceil(train.rows / (opts.batch * opts.gradAccum)));
    this.totalSteps = Math.max(1, Math.round(this.stepsPerEpoch * opts.epochs));
  }

  /** Rows of micro-batch `micro` (global index): each epoch walks a seeded shuffle of all rows. */
  private rowsFor(micro: number): number[] {
    const perEpoch = this.stepsPerEpoch * this.opts.gradAccum;
    const epoch = Math.floor(micro / perEpoch);
    const order = shuffled(this.train.rows, this.opts.seed + epoch);
    const start = (micro % perEpoch) * this.opts.batch;
    const rows: number[] = [];
    for (let i = 0; i < this.opts.batch; i++) rows.push(order[(start + i) % order.length]!);
    return rows;
  }

  private makeBatch(rows: TokenRows, ids: number[]): Batch {
    const T = rows.seqLen;
    const inputs = new Int32Array(ids.length * T);
    const targets = new Int32Array(ids.length * T);
    const weights = new Float32Array(ids.length * T);
    const positions = new Int32Array(ids.length * T);
    ids.forEach((r, i) => {
      inputs.set(rows.inputs(r), i * T);
      positions.set(rows.positions(r), i * T);
      const t = rows.targets(r);
      for (let j = 0; j < T; j++) {
        const y = t[j]!;
        targets[i * T + j] = y < 0 ? 0 : y;
        weights[i * T + j] = y < 0 ? 0 : 1;
      }
    });
    return { batch: ids.length, seq: T, inputs, targets, weights, positions };
  }

  /** One optimizer step over `gradAccum` micro-batches. */
  trainStep(): StepRecord {
    const t0 = performance.now();
    const accum = this.opts.gradAccum;
    let summed: tf.Tensor[] | undefined;
    let lossSum = 0;
    let tokens = 0;
    this.lora?.setStep(this.step);
    for (let j = 0; j < accum; j++) {
      const batch = this.makeBatch(this.train, this.rowsFor(this.step * accum + j));
      tokens += batch.inputs.length;
      const { value, grads } = tf.variableGrads(() => this.model.loss(batch, { hook: this.lora, training: true }), this.vars);
      lossSum += value.dataSync()[0]!;
      value.dispose();
      const list = this.vars.map((v) => grads[v.name]!);
      if (!summed) summed = list;
      else {
        const next = summed.map((s, i) => tf.add(s, list[i]!));
        for (const t of [...summed, ...list]) t.dispose();
        summed = next;
      }
    }
    // The mean over accumulated batches and the clipping are one scale applied inside the update.
    const grads = summed!;
    const norm = globalNorm(grads) / accum;
    const lr = learningRate(this.step, this.totalSteps, this.opts.lr, this.opts.warmupSteps);
    this.optimizer.apply(grads, lr, clipFactor(norm, this.opts.maxGradNorm) / accum);
    for (const g of grads) g.dispose();
    const rec: StepRecord = { step: this.step + 1, loss: lossSum / accum, lr, gradNorm: norm, tokens, seconds: (performance.now() - t0) / 1000 };
    this.step++;
    this.history.push(rec);
    return rec;
  }

  /** Mean loss over the validation rows (loss tokens weighted equally across batches). */
  evaluate(rows: TokenRows | undefined = this.valid): number | undefined {
    if (!rows || rows.rows === 0) return undefined;
    let num = 0;
    let den = 0;
    for (let start = 0; start < rows.rows; start += this.opts.batch) {
      const ids = Array.from({ length: Math.min(this.opts.batch, rows.rows - start) }, (_, i) => start + i);
      const b = this.makeBatch(rows, ids);
      const w = b.weights.reduce((a, x) => a + x, 0);
      if (w === 0) continue;
      const l = tf.tidy(() => this.model.loss(b, { hook: this.lora, training: false }).dataSync()[0]!);
      num += l * w;
      den += w;
    }
    return den ? num / den : undefined;
  }

  /**
   * Train until done or until `shouldStop()` says so after a step; eval as configured. Yields to the
   * event loop between steps so signal handlers (SIGINT → checkpoint) get to run.
   */
  async run(hooks: RunHooks = {}): Promise<{ stopped: boolean }> {
    const started = performance.now();
    let tokensDone = 0;
    while (this.step < this.totalSteps) {
      const rec = this.trainStep();
      tokensDone += rec.tokens;
      let evalLoss: number | undefined;
      if ((this.opts.evalEvery > 0 && this.step % this.opts.evalEvery === 0) || this.step === this.totalSteps) {
        evalLoss = this.evaluate();
        if (evalLoss !== undefined) this.evals.push({ step: this.step, loss: evalLoss });
      }
      const elapsed = (performance.now() - started) / 1000;
      const tps = tokensDone / Math.max(elapsed, 1e-9);
      hooks.onStep?.({ step: this.step, totalSteps: this.totalSteps, loss: rec.loss, lr: rec.lr, tokensPerSecond: tps, etaSeconds: ((this.totalSteps - this.step) * rec.tokens) / Math.max(tps, 1e-9), evalLoss });
      await new Promise((r) => setImmediate(r));
      if (this.step >= this.totalSteps) break;
      if (hooks.shouldStop?.()) return { stopped: true };
      if (hooks.checkpointEvery && this.step % hooks.checkpointEvery === 0) await hooks.onCheckpoint?.(this.step);
    }
    return { stopped: false };
  }

  state(): TrainerState {
    return {
      step: this.step,
      history: this.history.slice(),
      evals: this.evals.slice(),
      trainable: this.vars.map((v) => (v.dataSync() as Float32Array).slice()),
      optimizer: this.optimizer.state(),
    };
  }

  load(s: TrainerState): void {
    if (s.trainable.length !== this.vars.length) throw new Error(`checkpoint has ${s.trainable.length} trainable tensors, this run ${this.vars.length}`);
    this.vars.forEach((v, i) => {
      if (s.trainable[i]!.length !== v.size) throw new Error(`checkpoint tensor ${i} has ${s.trainable[i]!.length} values, expected ${v.size}`);
      tf.tidy(() => v.assign(tf.tensor(s.trainable[i]!, v.shape)));
    });
    this.optimizer.load(s.optimizer);
    this.step = s.step;
    this.history = s.history.slice();
    this.evals = s.evals.slice();
  }

  dispose(): void { this.optimizer.dispose(); }
}

/** Deterministic Fisher–Yates shuffle of 0..n-1 (mulberry32 PRNG). */
export function shuffled(n: number, seed: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
