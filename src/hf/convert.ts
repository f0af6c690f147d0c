// Writes a checkpoint plan (checkpoint.ts) as a GGUF, one tensor at a time straight from the safetensors files
// (matrices copied in their stored type, q/k rows reordered as bytes, Gemma's norms shifted by one), and keeps the
// result in a cache keyed by the source files' names, sizes and modification times, so a folder is converted once
// and every later run — qa-train, finetune, export, verify — uses the same GGUF as any other GGUF base.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import { log } from "../log.ts";
import { writeGguf, type GgufTensorInput } from "../gguf/writer.ts";
import { openSafetensors, type SafetensorsFile } from "../safetensors/format.ts";
import { planCheckpoint, type CheckpointPlan, type PlannedTensor } from "./checkpoint.ts";
import { fileStamps, removeOlderConversions, touchCacheEntry, writeCacheRecord } from "./checkpoint-cache.ts";

/** Bumped when the GGUF we write for the same files changes, so old cache entries are not reused. */
export const CONVERTER_VERSION = 2;

/** Rows of a row-major matrix moved from HF's per-head [half, j] order to llama.cpp's [j, half] (LlamaModel.permute), as bytes. */
export function permuteRowBytes(src: Buffer, rows: number, heads: number): Buffer {
  const rowBytes = src.length / rows;
  const half = rows / heads / 2;
  const out = Buffer.alloc(src.length);
  for (let h = 0; h < heads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let j = 0; j < half; j++) {
        const from = h * 2 * half + s * half + j, to = h * 2 * half + j * 2 + s;
        src.copy(out, to * rowBytes, from * rowBytes, (from + 1) * rowBytes);
      }
    }
  }
  return out;
}

/** The GGUF of a plan at `outPath`; never more than one tensor's bytes in memory. */
export async function writeCheckpointGguf(plan: CheckpointPlan, outPath: string): Promise<void> {
  const open = new Map<string, SafetensorsFile>();
  const fileOf = async (path: string) => {
    let f = open.get(path);
    if (!f) { f = await openSafetensors(path); open.set(path, f); }
    return f;
  };
  const input = (t: PlannedTensor): GgufTensorInput => {
    const src = t.source;
    if (src.kind === "values") return { name: t.name, dims: t.dims, type: "F32", data: src.data };
    if (t.type === "F32" && (src.entry.dtype !== "F32" || src.shift)) {
      return { name: t.name, dims: t.dims, type: "F32", data: async () => {
        const data = await (await fileOf(src.file)).read(src.key);
        // Gemma's norms: w + 1 in f32, as the converter computes it after widening BF16/F16 to f32.
        if (src.shift) for (let i = 0; i < data.length; i++) data[i] = data[i]! + src.shift;
        if (!src.permuteHeads) return data;
        const moved = permuteRowBytes(Buffer.from(data.buffer, data.byteOffset, data.byteLength), data.length, src.permuteHeads);
        return new Float32Array(moved.buffer, moved.byteOffset, data.length);
      } };
    }
    return { name: t.name, dims: t.dims, type: t.type, raw: async () => {
      const bytes = await (await fileOf(src.file)).readRaw(src.key);
      const rows = t.dims.length > 1 ? t.dims.slice(1).reduce((a, b) => a * b, 1) : t.dims[0]!;
      return src.permuteHeads ? permuteRowBytes(bytes, rows, src.permuteHeads) : bytes;
    } };
  };
  try {
    await writeGguf(outPath, { metadata: plan.metadata, tensors: plan.tensors.map(input) });
  } finally {
    for (const f of open.values()) await f.close();
  }
}

/** Where converted checkpoints are kept: DOCS2MODEL_CACHE, else XDG_CACHE_HOME or ~/.cache, under docs2model/checkpoints. */
export function checkpointCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.DOCS2MODEL_CACHE ?? join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), ".cache"), "docs2model");
  return join(root, "checkpoints");
}

/** The cache key: converter version plus each source file's name, size and mtime. */
export function checkpointKey(plan: Pick<CheckpointPlan, "files">, extra = ""): string {
  const h = createHash("sha256").update(`v${CONVERTER_VERSION}\n${extra}\n`);
  for (const f of plan.files) {
    const s = statSync(f);
    h.update(`${basename(f)}\t${s.size}\t${Math.round(s.mtimeMs)}\n`);
  }
  return h.digest("hex").slice(0, 16);
}

export interface CheckpointGguf { path: string; plan: CheckpointPlan; converted: boolean }

/** The GGUF of checkpoint folder `dir`, converted on first use and then taken from the cache. */
export async function checkpointGguf(dir: string, o: { repo?: string; cacheDir?: string; env?: NodeJS.ProcessEnv; plan?: CheckpointPlan } = {}): Promise<CheckpointGguf> {
  const abs = resolve(dir);
  const plan = o.plan ?? await planCheckpoint(abs, o.repo ? { repo: o.repo } : {});
  const cache = o.cacheDir ?? checkpointCacheDir(o.env);
  mkdirSync(cache, { recursive: true });
  const name = (o.repo ?? basename(abs)).replace(/[^\w.-]+/g, "--");
  const path = join(cache, `${name}-${checkpointKey(plan, `${abs}\n${o.repo ?? ""}`)}.gguf`);
  if (existsSync(path)) {
    touchCacheEntry(path);
    return { path, plan, converted: false };
  }
  const t0 = Date.now();
  log.info(`converting the checkpoint ${o.repo ?? abs} to GGUF (${plan.arch}, ${plan.tensors.length} tensors, ${plan.dtype}) → ${path}`);
  const record = { source: abs, ...(o.repo ? { repo: o.repo } : {}), converterVersion: CONVERTER_VERSION, files: fileStamps(plan.files), created: new Date().toISOString() };
  await writeCheckpointGguf(plan, path); // written beside as .partial and renamed: a cache entry is always whole
  writeCacheRecord(path, record);
  log.info(`converted in ${((Date.now() - t0) / 1000).toFixed(1)} s; later runs reuse it`);
  removeOlderConversions(cache, path, record, CONVERTER_VERSION);
  return { path, plan, converted: true };
}
