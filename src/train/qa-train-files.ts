// The packed token files qa-train writes and finetune reads: fixed-length rows of inputs and targets.
//
// Format (little-endian), `train.tokens` / `valid.tokens`:
//   8-byte magic "D2MTOK2\0", u32 seqLen, u32 rows, then `rows` records of
//   Int32[seqLen] inputs, Int32[seqLen] targets (-1 = no loss: prompt, padding) and Int32[seqLen]
//   positions (restarting at 0 for each packed example, which attends only to itself).
import { readFile, rename, writeFile } from "node:fs/promises";
import { PipelineError } from "../errors.ts";

const MAGIC = Buffer.from("D2MTOK2\0", "latin1");
const W = 3;
const HEADER = 16;

export class TokenRows {
  readonly seqLen: number;
  readonly rows: number;
  private readonly data: Int32Array;
  constructor(seqLen: number, data: Int32Array) {
    this.seqLen = seqLen;
    this.data = data;
    this.rows = data.length / (W * seqLen);
  }
  private part(row: number, k: number): Int32Array { const o = (row * W + k) * this.seqLen; return this.data.subarray(o, o + this.seqLen); }
  inputs(row: number): Int32Array { return this.part(row, 0); }
  targets(row: number): Int32Array { return this.part(row, 1); }
  positions(row: number): Int32Array { return this.part(row, 2); }
  get raw(): Int32Array { return this.data; }
  /** Tokens that carry loss. */
  lossTokens(): number {
    let n = 0;
    for (let r = 0; r < this.rows; r++) for (const t of this.targets(r)) if (t >= 0) n++;
    return n;
  }
  static fromRows(seqLen: number, rows: Array<{ inputs: ArrayLike<number>; targets: ArrayLike<number>; positions?: ArrayLike<number> }>): TokenRows {
    const data = new Int32Array(rows.length * W * seqLen);
    rows.forEach((r, i) => {
      data.set(r.inputs, i * W * seqLen);
      data.set(r.targets, (i * W + 1) * seqLen);
      data.set(r.positions ?? Array.from({ length: seqLen }, (_, j) => j), (i * W + 2) * seqLen);
    });
    return new TokenRows(seqLen, data);
  }
}

export async function writeTokenRows(path: string, rows: TokenRows): Promise<void> {
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(rows.seqLen, 8);
  header.writeUInt32LE(rows.rows, 12);
  const body = rows.raw;
  const tmp = `${path}.partial`;
  await writeFile(tmp, Buffer.concat([header, Buffer.from(body.buffer, body.byteOffset, body.byteLength)]));
  await rename(tmp, path);
}

export async function readTokenRows(path: string): Promise<TokenRows> {
  let buf: Buffer;
  try { buf = await readFile(path); } catch (e) {
    throw new PipelineError("E_INPUT", `cannot read token file (run \`pipeline qa-train\` first): ${(e as Error).message}`, { file: path }, { cause: e });
  }
  if (buf.length < HEADER || !buf.subarray(0, 8).equals(MAGIC)) throw new PipelineError("E_INPUT", "not a token file written by qa-train (bad magic)", { file: path });
  const seqLen = buf.readUInt32LE(8);
  const rows = buf.readUInt32LE(12);
  if (buf.length !== HEADER + rows * W * seqLen * 4) throw new PipelineError("E_INPUT", `token file is truncated: expected ${rows} rows of ${seqLen}; re-run qa-train`, { file: path });
  const copy = new Int32Array(rows * W * seqLen);
  copy.set(new Int32Array(buf.buffer.slice(buf.byteOffset + HEADER, buf.byteOffset + buf.length)));
  return new TokenRows(seqLen, copy);
}
