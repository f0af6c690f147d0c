// Time of the native fused attention kernels alone (forward, backward) on the benchmark shapes, with
// achieved GFLOP/s counting only the causal half that is computed.
// Usage: node --import tsx bench/train/native-attention.ts [tiny|small] [threads]
import { loadKernelAddon } from "../../src/kernels/native/addon.ts";
import { BENCH_CONFIGS, benchConfigName } from "./configs.ts";

const addon = loadKernelAddon();
if (!addon) throw new Error("native addon not built");
const c = BENCH_CONFIGS[benchConfigName(process.argv[2])];
addon.setThreads(Number(process.argv[3] ?? 2));
const B = 8, T = 256, hd = c.dim / c.heads;
const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
const q = rand(B * T * c.heads * hd), k = rand(B * T * c.kvHeads * hd), v = rand(B * T * c.kvHeads * hd);
const out = new Float32Array(q.length), lse = new Float32Array(B * c.heads * T), dOut = rand(q.length);
const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
const causalFlops = 2 * B * c.heads * hd * (T * (T + 1)) / 2; // one product over the causal half
const time = (f: () => void, n = 20) => { f(); const t0 = performance.now(); for (let i = 0; i < n; i++) f(); return (performance.now() - t0) / n; };
const fwd = time(() => addon.attentionForward(q, k, v, out, lse, B, T, c.heads, c.kvHeads, hd, null, 1 / Math.sqrt(hd)));
const bwd = time(() => addon.attentionBackward(q, k, v, out, lse, dOut, dq, dk, dv, B, T, c.heads, c.kvHeads, hd, null, 1 / Math.sqrt(hd)));
console.log(`${process.argv[2] ?? "tiny"} attention per layer: forward ${fwd.toFixed(2)} ms (${(2 * causalFlops / fwd / 1e6).toFixed(1)} GFLOP/s), backward ${bwd.toFixed(2)} ms (${(5 * causalFlops / bwd / 1e6).toFixed(1)} GFLOP/s)`);
