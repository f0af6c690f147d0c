// Training checkpoints: trainable tensors, AdamW moments and the data position, written atomically.
//
// <outDir>/checkpoint/state.json   { version, step, settings hash, history, evals, optimizer step, sizes, run }
// <outDir>/checkpoint/tensors.bin  Float32 LE: every trainable tensor, then every m, then every v
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PipelineError } from "../errors.ts";
import type { EvalRecord, StepRecord, TrainerState } from "./trainer.ts";

interface StateFile {
  version: 1;
  step: number;
  settingsHash: string;
  sizes: number[];
  optimizerStep: number;
  history: StepRecord[];
  evals: EvalRecord[];
  /** How the steps were computed; a resumed run computes the same way (older checkpoints lack it). */
  run?: CheckpointRun;
}

/**
 * Compute threads and backend of the run that wrote a checkpoint. Floating-point sums depend on how the
 * work is split across threads, so a resume with another thread count would drift from the uninterrupted run.
 */
export interface CheckpointRun { threads: number; backend: string }

export const checkpointDir = (outDir: string) => join(outDir, "checkpoint");

export async function saveCheckpoint(outDir: string, state: TrainerState, settingsHash: string, run?: CheckpointRun): Promise<void> {
  const dir = checkpointDir(outDir);
  const tmp = `${dir}.partial`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const arrays = [...state.trainable, ...state.optimizer.m, ...state.optimizer.v];
  const total = arrays.reduce((a, x) => a + x.length, 0);
  const all = new Float32Array(total);
  let off = 0;
  for (const a of arrays) { all.set(a, off); off += a.length; }
  await writeFile(join(tmp, "tensors.bin"), Buffer.from(all.buffer));
  const file: StateFile = { version: 1, step: state.step, settingsHash, sizes: state.trainable.map((t) => t.length), optimizerStep: state.optimizer.step, history: state.history, evals: state.evals, run };
  await writeFile(join(tmp, "state.json"), JSON.stringify(file) + "\n");
  // Swap in the new checkpoint only once it is complete, so a kill mid-write keeps the previous one.
  const old = `${dir}.old`;
  await rm(old, { recursive: true, force: true });
  if (existsSync(dir)) await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

/** The thread count and backend a checkpoint was made with, if it says. */
export async function readCheckpointRun(outDir: string): Promise<CheckpointRun | undefined> {
  try {
    const s = JSON.parse(await readFile(join(checkpointDir(outDir), "state.json"), "utf8")) as StateFile;
    return s.run && Number.isInteger(s.run.threads) && typeof s.run.backend === "string" ? s.run : undefined;
  } catch {
    return undefined; // no checkpoint (loadCheckpoint says so) or an older one
  }
}

export async function loadCheckpoint(outDir: string, settingsHash: string): Promise<TrainerState> {
  const dir = checkpointDir(outDir);
  const stateFile = join(dir, "state.json");
  if (!existsSync(stateFile)) throw new PipelineError("E_RESUME", "no checkpoint to resume from; run without --resume", { file: dir });
  const s = JSON.parse(await readFile(stateFile, "utf8")) as StateFile;
  if (s.settingsHash !== settingsHash) {
    throw new PipelineError("E_RESUME", "the checkpoint was made with different training settings or data; run without --resume to start over (or restore the old settings)", { file: stateFile });
  }
  const buf = await readFile(join(dir, "tensors.bin"));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const n = s.sizes.length;
  const expected = 3 * s.sizes.reduce((a, b) => a + b, 0);
  if (all.length !== expected) throw new PipelineError("E_RESUME", `checkpoint tensors are incomplete (${all.length} of ${expected} values); run without --resume`, { file: dir });
  let off = 0;
  const take = () => {
    const out: Float32Array[] = [];
    for (let i = 0; i < n; i++) { out.push(all.slice(off, off + s.sizes[i]!)); off += s.sizes[i]!; }
    return out;
  };
  const trainable = take();
  const m = take();
  const v = take();
  return { step: s.step, history: s.history, evals: s.evals, trainable, optimizer: { step: s.optimizerStep, m, v } };
}
