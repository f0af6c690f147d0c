// safetensors, the tensor file of the Hugging Face world (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?},
// then the raw little-endian data, offsets counted from the end of the header. Read on demand (a tensor's bytes
// are read when asked for, so a sharded 2 GB checkpoint is never held whole) and written from f32 data.
import { open, writeFile } from "node:fs/promises";
import { PipelineError } from "../errors.ts";
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from "../gguf/quant.ts";

export type SafetensorsDtype = "F32" | "F16" | "BF16";
export interface SafetensorsEntry { name: string; dtype: string; shape: number[]; begin: number; end: number }

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** A header larger than this is not a safetensors file (the format's own reference reader caps it at 100 MB). */
const MAX_HEADER = 100 * 1024 * 1024;

export interface SafetensorsFile {
  path: string;
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** A tensor's values as f32 (F16 and BF16 widened exactly). */
  read(name: string): Promise<Float32Array>;
  /** A tensor's bytes as stored (little-endian values of its dtype), for copying without re-encoding. */
  readRaw(name: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(8);
    await fh.read(head, 0, 8, 0);
    const n = Number(head.readBigUInt64LE(0));
    if (size < 8 || n < 2 || n > MAX_HEADER || 8 + n > size) throw new PipelineError("E_MODEL", `not a safetensors file (header length ${n} in a ${size}-byte file)`, { file: path });
    const json = Buffer.alloc(n);
    await fh.read(json, 0, n, 8);
    let header: Record<string, unknown>;
    try { header = JSON.parse(json.toString("utf8")) as Record<string, unknown>; } catch (e) {
      throw new PipelineError("E_MODEL", `safetensors header is not JSON: ${(e as Error).message}`, { file: path });
    }
    const dataStart = 8 + n;
    const entries = new Map<string, SafetensorsEntry>();
    for (const [name, v] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const e = v as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
      if (!e.dtype || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) throw new PipelineError("E_MODEL", `safetensors entry ${name} lacks dtype, shape or data_offsets`, { file: path });
      const [begin, end] = e.data_offsets;
      if (!(begin <= end) || dataStart + end > size) throw new PipelineError("E_MODEL", `safetensors entry ${name}: data_offsets [${begin}, ${end}] run past the file's end (truncated download?)`, { file: path });
      entries.set(name, { name, dtype: e.dtype, shape: e.shape, begin: dataStart + begin, end: dataStart + end });
    }
    const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
    const readRaw = async (name: string): Promise<Buffer> => {
      const e = entries.get(name);
      if (!e) throw new PipelineError("E_MODEL", `tensor ${name} is not in this safetensors file`, { file: path });
      const count = e.shape.reduce((a, b) => a * b, 1);
      const width = BYTES[e.dtype as SafetensorsDtype];
      if (!width) throw new PipelineError("E_MODEL", `tensor ${name} is ${e.dtype}; F32, F16 and BF16 are read`, { file: path });
      if (e.end - e.begin !== count * width) throw new PipelineError("E_MODEL", `tensor ${name}: ${e.end - e.begin} bytes for ${count} ${e.dtype} values`, { file: path });
      const buf = Buffer.alloc(e.end - e.begin);
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await fh.read(buf, done, buf.length - done, e.begin + done);
        if (bytesRead === 0) throw new PipelineError("E_MODEL", `tensor ${name}: file ends early (truncated download?)`, { file: path });
        done += bytesRead;
      }
      return buf;
    };
    return {
      path, entries, metadata, readRaw,
      async read(name) {
        const e = entries.get(name)!;
        const buf = await readRaw(name);
        const count = buf.length / BYTES[e.dtype as SafetensorsDtype];
        const out = new Float32Array(count);
        if (e.dtype === "F32") for (let i = 0; i < count; i++) out[i] = buf.readFloatLE(i * 4);
        else if (e.dtype === "F16") for (let i = 0; i < count; i++) out[i] = halfToFloat(buf.readUInt16LE(i * 2));
        else for (let i = 0; i < count; i++) out[i] = bf16ToFloat(buf.readUInt16LE(i * 2));
        return out;
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

export interface SafetensorsTensor { name: string; shape: number[]; data: Float32Array; /** Stored type (default F32). */ dtype?: SafetensorsDtype }

/** Writes tensors in name order (as the reference writer does), from f32 values narrowed to each tensor's dtype. */
export async function writeSafetensors(path: string, tensors: SafetensorsTensor[], metadata: Record<string, string> = {}): Promise<void> {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of sorted) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new PipelineError("E_EXPORT", `tensor ${t.name}: shape [${t.shape}] holds ${count} values, got ${t.data.length}`);
    const dtype = t.dtype ?? "F32";
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + BYTES[dtype] * count] };
    offset += BYTES[dtype] * count;
  }
  // The header is padded with spaces to a multiple of 8 so the data that follows stays aligned.
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const data = Buffer.alloc(offset);
  let at = 0;
  for (const t of sorted) {
    const dtype = t.dtype ?? "F32";
    if (dtype === "F32") Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(data, at);
    else for (let i = 0; i < t.data.length; i++) data.writeUInt16LE(dtype === "F16" ? floatToHalf(t.data[i]!) : floatToBf16(t.data[i]!), at + 2 * i);
    at += BYTES[dtype] * t.data.length;
  }
  await writeFile(path, Buffer.concat([len, json, data]));
}
