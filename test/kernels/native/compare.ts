// Shared by the native-kernel tests: seeded inputs, and the error measure native vs stock results are held to.
import assert from "node:assert/strict";

/** Deterministic pseudo-random floats in [-amplitude, amplitude). */
export function randomArray(n: number, seed: number, amplitude = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = (s / 2 ** 31 - 1) * amplitude; }
  return out;
}

/** Largest |x - y| relative to the largest |y| (errors scale with the size of the result); x must be finite. */
export function maxRelativeError(x: Float32Array, y: Float32Array): number {
  assert.equal(x.length, y.length);
  let diff = 0, scale = 1e-30;
  for (let i = 0; i < x.length; i++) {
    assert.ok(Number.isFinite(x[i]!), `non-finite value at ${i}`);
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!)); scale = Math.max(scale, Math.abs(y[i]!));
  }
  return diff / scale;
}
