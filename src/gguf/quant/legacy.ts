// The 32-value block types: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0. Dequantizers give ggml's dequantize_row_* values
// bit for bit; quantizers follow ggml's quantize_row_*_ref (what llama-quantize writes without an imatrix),
// rounding in float where the C does. Layouts (ggml-common.h), 32 values per block:
//   Q4_0 18 B: d f16, qs[16]            value j = (nibble − 8)·d; low nibbles are j < 16, high nibbles j ≥ 16
//   Q4_1 20 B: d f16, m f16, qs[16]     value = nibble·d + m
//   Q5_0 22 B: d f16, qh u32, qs[16]    5th bit of value j is bit j of qh; value = (q − 16)·d
//   Q5_1 24 B: d f16, m f16, qh u32, qs[16]   value = q·d + m
//   Q8_0 34 B: d f16, qs[32] int8       value = q·d
import { f, floatToHalf, halfAt, putHalf, roundf } from "./half.ts";

export function dequantQ4_0(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 18, y += 32) {
    const d = halfAt(src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      out[y + j] = ((q & 0x0f) - 8) * d;
      out[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

export function dequantQ4_1(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 20, y += 32) {
    const d = halfAt(src, o), m = halfAt(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j]!;
      out[y + j] = (q & 0x0f) * d + m; // q·d is exact in float; the one rounding is the add, as in C
      out[y + j + 16] = (q >> 4) * d + m;
    }
  }
}

const qh32 = (src: Uint8Array, o: number): number => (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0;

export function dequantQ5_0(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 22, y += 32) {
    const d = halfAt(src, o), qh = qh32(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j]!;
      out[y + j] = (((q & 0x0f) | (((qh >>> j) & 1) << 4)) - 16) * d;
      out[y + j + 16] = (((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16) * d;
    }
  }
}

export function dequantQ5_1(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 24, y += 32) {
    const d = halfAt(src, o), m = halfAt(src, o + 2), qh = qh32(src, o + 4);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j]!;
      out[y + j] = ((q & 0x0f) | (((qh >>> j) & 1) << 4)) * d + m;
      out[y + j + 16] = ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) * d + m;
    }
  }
}

export function dequantQ8_0(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 34) {
    const d = halfAt(src, o);
    for (let j = 0; j < 32; j++) out[y++] = d * ((src[o + 2 + j]! << 24) >> 24);
  }
}

/** Value of largest magnitude in x[xo..xo+32) (the first one on ties), as ggml's scans pick it. */
function signedMax(x: Float32Array, xo: number): number {
  let amax = 0, max = 0;
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j]!;
    if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
  }
  return max;
}

function minMax(x: Float32Array, xo: number): [number, number] {
  let min = Infinity, max = -Infinity; // ggml starts at ±FLT_MAX; the same for finite weights
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** C's (int8_t)/(uint8_t) cast of a small float: truncation toward zero. */
const trunc = Math.trunc;

export function quantQ4_0(x: Float32Array, blocks: number, dst: Uint8Array): void {
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 18, xo += 32) {
    const d = f(signedMax(x, xo) / -8);
    const id = d ? f(1 / d) : 0;
    putHalf(dst, o, floatToHalf(d));
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, trunc(f(f(x[xo + j]! * id) + 8.5)));
      const q1 = Math.min(15, trunc(f(f(x[xo + 16 + j]! * id) + 8.5)));
      dst[o + 2 + j] = q0 | (q1 << 4);
    }
  }
}

export function quantQ4_1(x: Float32Array, blocks: number, dst: Uint8Array): void {
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 20, xo += 32) {
    const [min, max] = minMax(x, xo);
    const d = f(f(max - min) / 15);
    const id = d ? f(1 / d) : 0;
    putHalf(dst, o, floatToHalf(d));
    putHalf(dst, o + 2, floatToHalf(min));
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, trunc(f(f(f(x[xo + j]! - min) * id) + 0.5)));
      const q1 = Math.min(15, trunc(f(f(f(x[xo + 16 + j]! - min) * id) + 0.5)));
      dst[o + 4 + j] = q0 | (q1 << 4);
    }
  }
}

function putQh(dst: Uint8Array, o: number, qh: number): void {
  dst[o] = qh & 0xff; dst[o + 1] = (qh >>> 8) & 0xff; dst[o + 2] = (qh >>> 16) & 0xff; dst[o + 3] = qh >>> 24;
}

export function quantQ5_0(x: Float32Array, blocks: number, dst: Uint8Array): void {
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 22, xo += 32) {
    const d = f(signedMax(x, xo) / -16);
    const id = d ? f(1 / d) : 0;
    putHalf(dst, o, floatToHalf(d));
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, trunc(f(f(x[xo + j]! * id) + 16.5)));
      const q1 = Math.min(31, trunc(f(f(x[xo + 16 + j]! * id) + 16.5)));
      dst[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 >> 4) & 1) << j;
      qh |= ((q1 >> 4) & 1) << (j + 16);
    }
    putQh(dst, o + 2, qh >>> 0);
  }
}

export function quantQ5_1(x: Float32Array, blocks: number, dst: Uint8Array): void {
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 24, xo += 32) {
    const [min, max] = minMax(x, xo);
    const d = f(f(max - min) / 31);
    const id = d ? f(1 / d) : 0;
    putHalf(dst, o, floatToHalf(d));
    putHalf(dst, o + 2, floatToHalf(min));
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      // ggml does not clamp here: (max − min)·id rounds to at most 31.
      const q0 = trunc(f(f(f(x[xo + j]! - min) * id) + 0.5)) & 0xff;
      const q1 = trunc(f(f(f(x[xo + 16 + j]! - min) * id) + 0.5)) & 0xff;
      dst[o + 8 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 >> 4) & 1) << j;
      qh |= ((q1 >> 4) & 1) << (j + 16);
    }
    putQh(dst, o + 4, qh >>> 0);
  }
}

export function quantQ8_0(x: Float32Array, blocks: number, dst: Uint8Array): void {
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 34, xo += 32) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xo + j]!));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    putHalf(dst, o, floatToHalf(d));
    for (let j = 0; j < 32; j++) dst[o + 2 + j] = roundf(f(x[xo + j]! * id)) & 0xff;
  }
}
