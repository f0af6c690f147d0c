// GGUF reader (v2/v3): header, typed metadata and tensor infos parsed from a buffered file handle;
// tensor data read on demand (never the whole file in memory) and dequantized to f32.
//
// CONTRACT: `openGguf(path): Promise<GgufFile>` (see types.ts for GgufFile, dims order and rope).
//   const f = await openGguf("model.gguf");
//   f.meta<string>("general.architecture"); f.metadata.get("llama.block_count") // {type:"u32", value:2}
//   const w = await f.readTensorF32("blk.0.attn_q.weight");  // Float32Array, dims [in, out]
//   await f.close();
// Every malformed file is a PipelineError E_GGUF naming the file and what is wrong.
import { open, type FileHandle } from "node:fs/promises";
import { PipelineError } from "../errors.ts";
import { dequantize } from "./quant.ts";
import {
  DEQUANT_TYPES, GGML_BLOCK, GGML_TYPE_NAMES, GgufValueType, SCALAR_TYPE_NAMES,
  type GgufFile, type GgufScalar, type GgufTensorInfo, type GgufValue, type GgmlTypeName,
} from "./types.ts";

const MAGIC = 0x46554747; // "GGUF" little-endian
const CHUNK = 1 << 20;

/** Sequential little-endian reads over a file handle with a refillable buffer. */
class HeaderCursor {
  private buf = Buffer.alloc(0);
  private pos = 0;
  private bufStart = 0; // file offset of buf[0]
  constructor(private fh: FileHandle, private file: string, readonly fileSize: number) {}

  get offset(): number { return this.bufStart + this.pos; }

  private async need(n: number, what: string): Promise<void> {
    if (this.pos + n <= this.buf.length) return;
    if (this.offset + n > this.fileSize) {
      throw new PipelineError("E_GGUF", `file is truncated: ${what} needs ${n} bytes at offset ${this.offset} but the file has ${this.fileSize} bytes; re-download or re-export it`, { file: this.file });
    }
    const keep = this.buf.subarray(this.pos);
    const want = Math.max(n, CHUNK);
    const next = Buffer.alloc(keep.length + Math.min(want, this.fileSize - this.offset - keep.length) + 0);
    keep.copy(next, 0);
    const { bytesRead } = await this.fh.read(next, keep.length, next.length - keep.length, this.offset + keep.length);
    this.bufStart = this.offset;
    this.buf = next.subarray(0, keep.length + bytesRead);
    this.pos = 0;
    if (this.buf.length < n) throw new PipelineError("E_GGUF", `file is truncated: ${what} at offset ${this.offset}`, { file: this.file });
  }

  async u8(what: string) { await this.need(1, what); return this.buf.readUInt8(this.pos++); }
  async i8(what: string) { await this.need(1, what); return this.buf.readInt8(this.pos++); }
  async u16(what: string) { await this.need(2, what); const v = this.buf.readUInt16LE(this.pos); this.pos += 2; return v; }
  async i16(what: string) { await this.need(2, what); const v = this.buf.readInt16LE(this.pos); this.pos += 2; return v; }
  async u32(what: string) { await this.need(4, what); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  async i32(what: string) { await this.need(4, what); const v = this.buf.readInt32LE(this.pos); this.pos += 4; return v; }
  async f32(what: string) { await this.need(4, what); const v = this.buf.readFloatLE(this.pos); this.pos += 4; return v; }
  async f64(what: string) { await this.need(8, what); const v = this.buf.readDoubleLE(this.pos); this.pos += 8; return v; }
  async u64(what: string): Promise<number | bigint> { await this.need(8, what); const v = this.buf.readBigUInt64LE(this.pos); this.pos += 8; return small(v); }
  async i64(what: string): Promise<number | bigint> { await this.need(8, what); const v = this.buf.readBigInt64LE(this.pos); this.pos += 8; return small(v); }
  async count(what: string): Promise<number> {
    const v = await this.u64(what);
    if (typeof v === "bigint" || v > this.fileSize) {
      throw new PipelineError("E_GGUF", `file is truncated or corrupt: ${what} is ${v}, more than the file's ${this.fileSize} bytes could hold`, { file: this.file });
    }
    return v;
  }
  /** The next scalar when it is already buffered (no await: big vocabularies parse fast), else undefined. */
  scalarSync(type: number): GgufScalar | undefined {
    const b = this.buf, p = this.pos, left = b.length - p;
    switch (type) {
      case GgufValueType.STRING: {
        if (left < 8) return undefined;
        const n = Number(b.readBigUInt64LE(p));
        if (left < 8 + n) return undefined;
        this.pos = p + 8 + n;
        return b.toString("utf8", p + 8, p + 8 + n);
      }
      case GgufValueType.INT32: if (left < 4) return undefined; this.pos += 4; return b.readInt32LE(p);
      case GgufValueType.UINT32: if (left < 4) return undefined; this.pos += 4; return b.readUInt32LE(p);
      case GgufValueType.FLOAT32: if (left < 4) return undefined; this.pos += 4; return b.readFloatLE(p);
      default: return undefined;
    }
  }
  async str(what: string): Promise<string> {
    const n = await this.count(`length of ${what}`);
    await this.need(n, what);
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

const small = (v: bigint): number | bigint => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v);

async function readScalar(c: HeaderCursor, type: number, what: string, file: string): Promise<GgufScalar> {
  switch (type) {
    case GgufValueType.UINT8: return c.u8(what);
    case GgufValueType.INT8: return c.i8(what);
    case GgufValueType.UINT16: return c.u16(what);
    case GgufValueType.INT16: return c.i16(what);
    case GgufValueType.UINT32: return c.u32(what);
    case GgufValueType.INT32: return c.i32(what);
    case GgufValueType.FLOAT32: return c.f32(what);
    case GgufValueType.BOOL: return (await c.u8(what)) !== 0;
    case GgufValueType.STRING: return c.str(what);
    case GgufValueType.UINT64: return c.u64(what);
    case GgufValueType.INT64: return c.i64(what);
    case GgufValueType.FLOAT64: return c.f64(what);
    default:
      throw new PipelineError("E_GGUF", `unknown metadata value type ${type} for ${what} at offset ${c.offset}; the file is corrupt or from a newer GGUF version`, { file });
  }
}

async function readValue(c: HeaderCursor, type: number, key: string, file: string): Promise<GgufValue> {
  if (type !== GgufValueType.ARRAY) {
    const value = await readScalar(c, type, `metadata "${key}"`, file);
    return { type: SCALAR_TYPE_NAMES[type]!, value };
  }
  const itemType = await c.u32(`array type of "${key}"`);
  const n = await c.count(`array length of "${key}"`);
  if (itemType === GgufValueType.ARRAY) {
    const items: GgufValue[] = [];
    for (let i = 0; i < n; i++) items.push(await readValue(c, GgufValueType.ARRAY, key, file)); // each item is (type, len, values)
    return { type: "array", itemType: "array", value: items };
  }
  if (SCALAR_TYPE_NAMES[itemType] === undefined) {
    throw new PipelineError("E_GGUF", `unknown array item type ${itemType} in metadata "${key}"; the file is corrupt or from a newer GGUF version`, { file });
  }
  const items: GgufScalar[] = new Array(n);
  for (let i = 0; i < n; i++) items[i] = c.scalarSync(itemType) ?? (await readScalar(c, itemType, `metadata "${key}"[${i}]`, file));
  return { type: "array", itemType: SCALAR_TYPE_NAMES[itemType]!, value: items };
}

/** Plain JS view of a typed value (arrays of arrays become nested arrays). */
export function plainValue(v: GgufValue): unknown {
  if (v.type === "array" && v.itemType === "array") return (v.value as GgufValue[]).map(plainValue);
  return v.value;
}

export async function openGguf(path: string): Promise<GgufFile> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw new PipelineError("E_GGUF", `cannot open model file: ${(e as Error).message}; check the path (and that the file is readable)`, { file: path }, { cause: e });
  }
  if ((await fh.stat()).isDirectory()) {
    await fh.close();
    throw new PipelineError("E_INPUT", `${path} is a folder; name the .gguf file in it`, { file: path });
  }
  try {
    return await parse(fh, path);
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  }
}

async function parse(fh: FileHandle, path: string): Promise<GgufFile> {
  const size = (await fh.stat()).size;
  const c = new HeaderCursor(fh, path, size);
  if (size < 4) throw new PipelineError("E_GGUF", `file is truncated: ${size} bytes is too short for a GGUF header`, { file: path });
  const magic = await c.u32("magic");
  if (magic !== MAGIC) {
    const shown = Buffer.alloc(4);
    shown.writeUInt32LE(magic);
    throw new PipelineError("E_GGUF", `not a GGUF file: bad magic ${JSON.stringify(shown.toString("latin1"))} (expected "GGUF"); pass a .gguf model file`, { file: path });
  }
  const version = await c.u32("version");
  if (version !== 2 && version !== 3) {
    throw new PipelineError("E_GGUF", `unsupported GGUF version ${version} (this reader handles 2 and 3); convert the file with a recent llama.cpp`, { file: path });
  }
  const tensorCount = await c.count("tensor count");
  const kvCount = await c.count("metadata count");
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await c.str(`metadata key #${i}`);
    const type = await c.u32(`type of metadata "${key}"`);
    metadata.set(key, await readValue(c, type, key, path));
  }
  const alignValue = metadata.get("general.alignment");
  const alignment = alignValue ? Number(alignValue.value) : 32;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new PipelineError("E_GGUF", `general.alignment ${alignValue?.value} is not a power of two`, { file: path, field: "general.alignment" });
  }

  const raw: Array<{ name: string; dims: number[]; type: GgmlTypeName; rel: number }> = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = await c.str(`name of tensor #${i}`);
    const nDims = await c.u32(`dimension count of tensor "${name}"`);
    if (nDims > 8) throw new PipelineError("E_GGUF", `tensor "${name}" claims ${nDims} dimensions (at most 8); the file is corrupt`, { file: path });
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const n = await c.u64(`dimension ${d} of tensor "${name}"`);
      if (typeof n === "bigint") throw new PipelineError("E_GGUF", `tensor "${name}" dimension ${d} is too large (${n})`, { file: path });
      dims.push(n);
    }
    const typeId = await c.u32(`type of tensor "${name}"`);
    const type = GGML_TYPE_NAMES[typeId];
    if (type === undefined || !(type in GGML_BLOCK)) {
      throw new PipelineError("E_GGUF", `tensor "${name}" has unknown ggml type ${typeId}; the file is corrupt or needs a newer reader`, { file: path });
    }
    const rel = await c.u64(`offset of tensor "${name}"`);
    if (typeof rel === "bigint") throw new PipelineError("E_GGUF", `tensor "${name}" offset ${rel} is beyond any file`, { file: path });
    if (rel % alignment !== 0) {
      throw new PipelineError("E_GGUF", `tensor "${name}" offset ${rel} is misaligned: not a multiple of the alignment ${alignment}; the file is corrupt`, { file: path });
    }
    raw.push({ name, dims, type, rel });
  }
  const dataOffset = Math.ceil(c.offset / alignment) * alignment;
  const tensors: GgufTensorInfo[] = raw.map(({ name, dims, type, rel }) => {
    const [be, bb] = GGML_BLOCK[type];
    const elements = dims.reduce((a, b) => a * b, 1);
    if ((dims[0] ?? 1) % be !== 0) {
      throw new PipelineError("E_GGUF", `tensor "${name}" of type ${type} has rows of ${dims[0]} elements, not a multiple of its block size ${be}`, { file: path });
    }
    const byteLength = (elements / be) * bb;
    const offset = dataOffset + rel;
    if (offset + byteLength > size) {
      throw new PipelineError("E_GGUF", `file is truncated: tensor "${name}" data ends at byte ${offset + byteLength} but the file has ${size} bytes; re-download or re-export it`, { file: path });
    }
    return { name, dims, type, offset, byteLength, elements };
  });
  const byName = new Map(tensors.map((t) => [t.name, t]));

  const get = (name: string): GgufTensorInfo => {
    const t = byName.get(name);
    if (!t) throw new PipelineError("E_GGUF", `no tensor named "${name}" in this model`, { file: path });
    return t;
  };
  const readInto = async (buf: Uint8Array, at: number, name: string): Promise<void> => {
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await fh.read(buf, done, Math.min(buf.length - done, 1 << 30), at + done);
      if (bytesRead === 0) throw new PipelineError("E_GGUF", `file is truncated while reading tensor "${name}"`, { file: path });
      done += bytesRead;
    }
  };
  const readRaw = async (t: GgufTensorInfo): Promise<Uint8Array> => {
    const buf = new Uint8Array(t.byteLength);
    await readInto(buf, t.offset, t.name);
    return buf;
  };

  return {
    path, version, alignment, metadata, tensors, dataOffset,
    meta<T>(key: string): T | undefined {
      const v = metadata.get(key);
      return v === undefined ? undefined : (plainValue(v) as T);
    },
    tensor: (name) => byName.get(name),
    readTensorRaw: (name) => readRaw(get(name)),
    async readTensorF32(name) {
      const t = get(name);
      if (!DEQUANT_TYPES.includes(t.type)) {
        throw new PipelineError("E_GGUF", `tensor "${name}" is ${t.type}, which cannot be dequantized here (supported: ${DEQUANT_TYPES.join(", ")}); use a model file in one of those types`, { file: path });
      }
      // Dequantize in slices so the raw bytes never need a second full-size copy in flight.
      const out = new Float32Array(t.elements);
      if (t.type === "F32") { // little-endian host: the stored bytes are the values
        await readInto(new Uint8Array(out.buffer), t.offset, name);
        return out;
      }
      const [be, bb] = GGML_BLOCK[t.type];
      const blocksPerSlice = Math.max(1, Math.floor((8 << 20) / bb));
      const totalBlocks = t.elements / be;
      const buf = new Uint8Array(Math.min(totalBlocks, blocksPerSlice) * bb);
      for (let b = 0; b < totalBlocks; b += blocksPerSlice) {
        const n = Math.min(blocksPerSlice, totalBlocks - b);
        const view = buf.subarray(0, n * bb);
        await readInto(view, t.offset + b * bb, name);
        dequantize(t.type, view, n * be, out, b * be);
      }
      return out;
    },
    close: () => fh.close(),
  };
}
