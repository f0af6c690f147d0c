// The native f32 → f16 conversion (F16C or its portable fallback) equals the JavaScript one bit for bit on
// every non-NaN value — ties, overflow to infinity, subnormals, signed zeros — and through the GGUF writer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadKernelAddon, nativeMatMulUnavailableReason } from "../../../src/kernels/native/addon.ts";
import { floatToHalf, quantize } from "../../../src/gguf/quant.ts";

const addon = loadKernelAddon();
const skip = addon ? false : `native addon unavailable: ${nativeMatMulUnavailableReason()}`;

/** Values across the whole f32 range plus the half-precision edge cases. */
function values(): Float32Array {
  const edge = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e6, -1e6, Infinity, -Infinity, 6.103515625e-5, 6.1e-5, 5.960464477539063e-8,
    2.98e-8, 2.9802322387695312e-8, 1e-10, -3e-6, 1.0009765625, 1.00048828125, 1.000732421875, 2049, 2051, 4097.5];
  const out = new Float32Array(200_000);
  out.set(edge);
  let s = 12345;
  const bits = new Uint32Array(out.buffer);
  for (let i = edge.length; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    bits[i] = s; // every bit pattern: all exponents, both signs (NaNs included)
  }
  return out;
}

test("native f32 → f16 equals the JavaScript conversion on every non-NaN value", { skip }, () => {
  const x = values();
  const native = new Uint16Array(x.length);
  addon!.f32ToF16(x, native);
  let nans = 0;
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i]!)) {
      nans++;
      assert.ok((native[i]! & 0x7c00) === 0x7c00 && (native[i]! & 0x3ff) !== 0, `NaN at ${i} stays NaN`);
      continue;
    }
    if (native[i] !== floatToHalf(x[i]!)) assert.fail(`value ${x[i]} (bits ${new Uint32Array(x.buffer)[i]!.toString(16)}): native ${native[i]!.toString(16)}, JS ${floatToHalf(x[i]!).toString(16)}`);
  }
  assert.ok(nans > 0, "the sample covers NaN patterns too");
  assert.throws(() => addon!.f32ToF16(x, new Uint16Array(3)), /same length/);
});

test("quantize(F16) gives the same bytes with and without the native path", { skip }, () => {
  const x = values().map((v) => (Number.isNaN(v) ? 0 : v));
  const withNative = quantize("F16", x);
  process.env.DOCS2MODEL_NO_NATIVE = "1";
  try {
    assert.deepEqual(quantize("F16", x), withNative);
  } finally {
    delete process.env.DOCS2MODEL_NO_NATIVE;
  }
});
