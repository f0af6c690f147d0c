// GGUF v3 writer: typed metadata, tensors quantized slice by slice and streamed to disk, aligned data.
//
// CONTRACT:
//   await writeGguf(path, {
//     metadata: { "general.architecture": "llama", "llama.block_count": 2, "x": { type: "f32", value: 1 } },
//     tensors: [{ name: "token_embd.weight", dims: [dim, vocab], type: "Q8_0", data: f32 | (async () => f32) }],
//   });
//   - metadata: a Map or a record; each value either typed (`GgufValue`, e.g. from openGguf().metadata,
//     so read → write keeps every type) or plain, typed by inferMetaValue(): string → string,
//     boolean → bool, integer 0..2^32-1 → u32, negative integer → i32, other number → f32,
//     bigint → i64/u64, arrays: strings → [string], all integers → [i32], numbers → [f32].
//     llama.cpp checks types strictly (u32 counts, f32 eps/theta, i32 token_type): plain values fit.
//   - tensors: `data` (f32 values, quantized by us to any type in QUANT_TYPES) or `raw`
//     (bytes already in `type`, copied as is — for passing through tensors of any ggml type).
//     A function is called only when its tensor is written, so one tensor is in memory at a time.
//   - alignment: general.alignment when given (a power of two), else 32. Written to `path.partial`
//     and renamed when complete, so a failed write never leaves a half file under the real name.
import { open, rename, rm } from "node:fs/promises";
import { PipelineError } from "../errors.ts";
import { quantize } from "./quant.ts";
import {
  GGML_BLOCK, GgmlType, GgufValueType, QUANT_TYPES, SCALAR_TYPE_IDS,
  type GgmlTypeName, type GgufScalar, type GgufScalarTypeName, type GgufValue,
} from "./types.ts";

export type GgufPlain = string | number | bigint | boolean | Array<string | number | bigint | boolean>;
export type GgufMetaInput = Map<string, GgufValue | GgufPlain> | Record<string, GgufValue | GgufPlain>;

export interface GgufTensorInput {
  name: string;
  /** GGUF order: dims[0] is the fastest-varying ("in" of a weight). */
  dims: number[];
  type: GgmlTypeName;
  data?: Float32Array | (() => Promise<Float32Array>);
  raw?: Uint8Array | (() => Promise<Uint8Array>);
}

export interface WriteGgufOptions {
  metadata: GgufMetaInput;
  tensors: GgufTensorInput[];
}

/** Typed helpers for when inference would pick the wrong type. */
export const gv = {
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  u64: (value: number | bigint): GgufValue => ({ type: "u64", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  arr: (itemType: GgufScalarTypeName, value: GgufScalar[]): GgufValue => ({ type: "array", itemType, value }),
};

const isTyped = (v: unknown): v is GgufValue => typeof v === "object" && v !== null && !Array.isArray(v) && "type" in v && "value" in v;

export function inferMetaValue(key: string, v: GgufValue | GgufPlain): GgufValue {
  if (isTyped(v)) return v;
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === "string")) return { type: "array", itemType: "string", value: v };
    if (v.every((x) => typeof x === "boolean")) return { type: "array", itemType: "bool", value: v };
    if (v.every((x) => typeof x === "number" && Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31)) return { type: "array", itemType: "i32", value: v };
    if (v.every((x) => typeof x === "number")) return { type: "array", itemType: "f32", value: v };
    throw new PipelineError("E_GGUF", `metadata "${key}": an array must hold one kind of value; pass { type: "array", itemType, value }`, { field: key });
  }
  switch (typeof v) {
    case "string": return { type: "string", value: v };
    case "boolean": return { type: "bool", value: v };
    case "bigint": return { type: v < 0n ? "i64" : "u64", value: v };
    case "number":
      if (Number.isInteger(v) && v >= 0 && v < 2 ** 32) return { type: "u32", value: v };
      if (Number.isInteger(v) && v < 0 && v >= -(2 ** 31)) return { type: "i32", value: v };
      if (Number.isInteger(v) && Number.isSafeInteger(v)) return { type: v < 0 ? "i64" : "u64", value: v };
      return { type: "f32", value: v };
  }
  throw new PipelineError("E_GGUF", `metadata "${key}": unsupported value ${String(v)}`, { field: key });
}

/** Growable little-endian byte builder for the header. */
class Bytes {
  buf = Buffer.alloc(1 << 16);
  len = 0;
  private room(n: number) {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number) { this.room(1); this.buf.writeUInt8(v, this.len); this.len += 1; }
  i8(v: number) { this.room(1); this.buf.writeInt8(v, this.len); this.len += 1; }
  u16(v: number) { this.room(2); this.buf.writeUInt16LE(v, this.len); this.len += 2; }
  i16(v: number) { this.room(2); this.buf.writeInt16LE(v, this.len); this.len += 2; }
  u32(v: number) { this.room(4); this.buf.writeUInt32LE(v, this.len); this.len += 4; }
  i32(v: number) { this.room(4); this.buf.writeInt32LE(v, this.len); this.len += 4; }
  f32(v: number) { this.room(4); this.buf.writeFloatLE(v, this.len); this.len += 4; }
  f64(v: number) { this.room(8); this.buf.writeDoubleLE(v, this.len); this.len += 8; }
  u64(v: number | bigint) { this.room(8); this.buf.writeBigUInt64LE(BigInt(v), this.len); this.len += 8; }
  i64(v: number | bigint) { this.room(8); this.buf.writeBigInt64LE(BigInt(v), this.len); this.len += 8; }
  str(s: string) {
    const n = Buffer.byteLength(s, "utf8");
    this.u64(n);
    this.room(n);
    this.buf.write(s, this.len, "utf8");
    this.len += n;
  }
}

function writeScalar(b: Bytes, type: GgufScalarTypeName, v: GgufScalar, key: string): void {
  const bad = () => new PipelineError("E_GGUF", `metadata "${key}": value ${String(v)} does not fit type ${type}`, { field: key });
  if (type === "string") { if (typeof v !== "string") throw bad(); return b.str(v); }
  if (type === "bool") { if (typeof v !== "boolean") throw bad(); return b.u8(v ? 1 : 0); }
  if (type === "u64") { if (typeof v !== "number" && typeof v !== "bigint") throw bad(); return b.u64(v); }
  if (type === "i64") { if (typeof v !== "number" && typeof v !== "bigint") throw bad(); return b.i64(v); }
  if (typeof v !== "number") throw bad();
  try {
    switch (type) {
      case "u8": return b.u8(v);
      case "i8": return b.i8(v);
      case "u16": return b.u16(v);
      case "i16": return b.i16(v);
      case "u32": return b.u32(v);
      case "i32": return b.i32(v);
      case "f32": return b.f32(v);
      case "f64": return b.f64(v);
    }
  } catch {
    throw bad();
  }
}

function writeValue(b: Bytes, v: GgufValue, key: string): void {
  if (v.type !== "array") return writeScalar(b, v.type, v.value, key);
  if (v.itemType === "array") {
    b.u32(GgufValueType.ARRAY);
    b.u64(v.value.length);
    for (const item of v.value as GgufValue[]) {
      if (item.type !== "array") throw new PipelineError("E_GGUF", `metadata "${key}": items of an array of arrays must be arrays`, { field: key });
      writeValue(b, item, key); // each item is (type, len, values), no tag of its own
    }
    return;
  }
  b.u32(SCALAR_TYPE_IDS[v.itemType]);
  b.u64(v.value.length);
  for (const item of v.value as GgufScalar[]) writeScalar(b, v.itemType, item, key);
}

const typeId = (v: GgufValue): number => (v.type === "array" ? GgufValueType.ARRAY : SCALAR_TYPE_IDS[v.type]);

export async function writeGguf(path: string, opts: WriteGgufOptions): Promise<{ bytes: number }> {
  const entries = opts.metadata instanceof Map ? [...opts.metadata.entries()] : Object.entries(opts.metadata);
  const meta = entries.map(([k, v]) => [k, inferMetaValue(k, v)] as const);
  const alignEntry = meta.find(([k]) => k === "general.alignment");
  const alignment = alignEntry ? Number(alignEntry[1].value) : 32;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new PipelineError("E_GGUF", `general.alignment must be a power of two, got ${alignEntry?.[1].value}`, { file: path, field: "general.alignment" });
  }

  // Tensor infos with offsets relative to the data section.
  const seen = new Set<string>();
  let rel = 0;
  const layout = opts.tensors.map((t) => {
    if (seen.has(t.name)) throw new PipelineError("E_GGUF", `tensor "${t.name}" is listed twice`, { file: path });
    seen.add(t.name);
    if (Buffer.byteLength(t.name) > 63) throw new PipelineError("E_GGUF", `tensor name "${t.name}" is longer than 63 bytes (llama.cpp's limit)`, { file: path });
    if (!(t.type in GGML_BLOCK)) throw new PipelineError("E_GGUF", `tensor "${t.name}": unknown type ${t.type}`, { file: path });
    if (t.data !== undefined && !(QUANT_TYPES as readonly string[]).includes(t.type)) {
      throw new PipelineError("E_GGUF", `tensor "${t.name}": cannot quantize to ${t.type} (supported: ${QUANT_TYPES.join(", ")}); pass raw bytes instead`, { file: path });
    }
    if ((t.data === undefined) === (t.raw === undefined)) throw new PipelineError("E_GGUF", `tensor "${t.name}": give exactly one of data or raw`, { file: path });
    const [be, bb] = GGML_BLOCK[t.type];
    if (t.dims.length === 0 || t.dims.some((d) => !Number.isInteger(d) || d <= 0)) throw new PipelineError("E_GGUF", `tensor "${t.name}": bad dims [${t.dims}]`, { file: path });
    if (t.dims[0]! % be !== 0) {
      throw new PipelineError("E_GGUF", `tensor "${t.name}": ${t.type} needs rows (dims[0]) that are a multiple of ${be}, got ${t.dims[0]}; use F16/F32 for this tensor`, { file: path });
    }
    const elements = t.dims.reduce((a, b) => a * b, 1);
    const byteLength = (elements / be) * bb;
    const offset = rel;
    rel += Math.ceil(byteLength / alignment) * alignment;
    return { t, elements, byteLength, offset };
  });

  const h = new Bytes();
  h.u32(0x46554747);
  h.u32(3);
  h.u64(opts.tensors.length);
  h.u64(meta.length);
  for (const [k, v] of meta) { h.str(k); h.u32(typeId(v)); writeValue(h, v, k); }
  for (const { t, offset } of layout) {
    h.str(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(GgmlType[t.type]);
    h.u64(offset);
  }
  const headerLen = Math.ceil(h.len / alignment) * alignment;

  const tmp = `${path}.partial`;
  const fh = await open(tmp, "w");
  try {
    await fh.write(h.buf, 0, headerLen, 0); // bytes past h.len are zeros: the alignment padding
    let pos = headerLen;
    for (const { t, elements, byteLength, offset } of layout) {
      const at = headerLen + offset;
      if (pos < at) { await fh.write(Buffer.alloc(at - pos), 0, at - pos, pos); pos = at; }
      if (t.raw !== undefined) {
        const bytes = typeof t.raw === "function" ? await t.raw() : t.raw;
        if (bytes.byteLength !== byteLength) throw new PipelineError("E_GGUF", `tensor "${t.name}": raw data has ${bytes.byteLength} bytes, ${t.type} [${t.dims}] needs ${byteLength}`, { file: path });
        await writeAll(fh, bytes, pos);
      } else {
        const data = typeof t.data === "function" ? await t.data() : t.data!;
        if (data.length !== elements) throw new PipelineError("E_GGUF", `tensor "${t.name}": data has ${data.length} values, dims [${t.dims}] need ${elements}`, { file: path });
        if (t.type === "F32") await writeAll(fh, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos); // no re-encoding needed
        else await writeQuantized(fh, t.type, data, pos);
      }
      pos += byteLength;
    }
    const end = headerLen + rel;
    if (pos < end) { await fh.write(Buffer.alloc(end - pos), 0, end - pos, pos); pos = end; }
    await fh.close();
    await rename(tmp, path);
    return { bytes: pos };
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}

async function writeAll(fh: import("node:fs/promises").FileHandle, bytes: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done, pos + done);
    done += bytesWritten;
  }
}

/** Quantize in slices of whole blocks so the output buffer stays small. */
async function writeQuantized(fh: import("node:fs/promises").FileHandle, type: GgmlTypeName, data: Float32Array, pos: number): Promise<void> {
  const [be, bb] = GGML_BLOCK[type];
  const blocksPerSlice = Math.max(1, Math.floor((4 << 20) / bb));
  const out = new Uint8Array(Math.min(data.length / be, blocksPerSlice) * bb);
  for (let b = 0; b < data.length / be; b += blocksPerSlice) {
    const n = Math.min(blocksPerSlice, data.length / be - b);
    const slice = out.subarray(0, n * bb);
    quantize(type, data.subarray(b * be, (b + n) * be), slice);
    await writeAll(fh, slice, pos);
    pos += slice.byteLength;
  }
}
