// Picks the tfjs backend at run time: tfjs-node-gpu › tfjs-node › wasm › cpu (or the one asked for).
// @tensorflow/tfjs (not tfjs-core alone) is imported because only it registers the gradients.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { PipelineError } from "../errors.ts";
import { computeThreads } from "./cpu-load.ts";
import { useFastBatchedMatMul, useFusedOps, type FusedOps } from "./fused-ops.ts";

export type BackendName = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";
export const BACKEND_ORDER = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
/** What users may type for --backend (package-style names are accepted too). */
const ALIASES: Record<string, BackendName> = {
  "tfjs-node-gpu": "tensorflow-gpu", "node-gpu": "tensorflow-gpu", gpu: "tensorflow-gpu", "tensorflow-gpu": "tensorflow-gpu",
  "tfjs-node": "tensorflow", node: "tensorflow", tensorflow: "tensorflow",
  wasm: "wasm", cpu: "cpu",
};

export interface BackendInfo { name: BackendName; threads: number; detail: string }

let chosen: BackendInfo | undefined;

/** All cores, fewer when other processes keep some busy (see cpu-load.ts). */
export function defaultThreads(): number {
  return computeThreads();
}

export interface BackendChoice {
  /**
   * The model needs more memory than the wasm heap (4 GiB) holds: skip wasm when the native kernels can
   * serve the cpu backend, whose tensors live in ordinary memory (up to the 24 GiB budget).
   */
  pastWasmHeap?: boolean;
}

/** Select and initialise a backend once per process; `wanted` (from --backend) overrides the order. */
export async function useBackend(wanted?: string, threads = defaultThreads(), choice: BackendChoice = {}): Promise<BackendInfo> {
  const avoidWasm = !wanted && choice.pastWasmHeap === true && (await nativeKernelsAvailable());
  if (chosen && (!wanted || ALIASES[wanted] === chosen.name) && !(avoidWasm && chosen.name === "wasm")) return chosen;
  const order: readonly BackendName[] = wanted ? [resolveName(wanted)] : backendOrder(avoidWasm);
  const failures: string[] = [];
  for (const name of order) {
    try {
      const info = await tryBackend(name, threads);
      if (info) { chosen = info; return info; }
      failures.push(`${name}: not installed`);
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  }
  throw new PipelineError("E_CONFIG", `no usable tfjs backend (${failures.join("; ")}); try --backend cpu`, { field: "--backend" });
}

/** The order tried without --backend; `avoidWasm`: a model past the wasm heap with native kernels present. */
export function backendOrder(avoidWasm: boolean): readonly BackendName[] {
  return avoidWasm ? BACKEND_ORDER.filter((b) => b !== "wasm") : BACKEND_ORDER;
}

/** Whether the optional native addon (src/kernels/native) is built and loads. */
async function nativeKernelsAvailable(): Promise<boolean> {
  if (process.env.DOCS2MODEL_NO_NATIVE) return false;
  try {
    const spec = "./native/addon.ts"; // computed: the native module is optional
    return Boolean(((await import(spec)) as { loadKernelAddon?: () => unknown }).loadKernelAddon?.());
  } catch {
    return false;
  }
}

function resolveName(wanted: string): BackendName {
  const name = ALIASES[wanted.toLowerCase()];
  if (!name) throw new PipelineError("E_CONFIG", `unknown backend "${wanted}" (--backend or FINETUNE_BACKEND); use one of tfjs-node-gpu, tfjs-node, wasm, cpu`, { field: "--backend" });
  return name;
}

async function tryBackend(name: BackendName, threads: number): Promise<BackendInfo | undefined> {
  if (name === "tensorflow-gpu" || name === "tensorflow") {
    // Optional packages: present only where libtensorflow could be downloaded at install time.
    const pkg = name === "tensorflow-gpu" ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
    try { await import(pkg); } catch { return undefined; }
    if (!(await tf.setBackend(name))) return undefined;
    useFastBatchedMatMul(true); // libtensorflow's batched matmul is fast
    return { name, threads, detail: pkg };
  }
  if (name === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    const multithread = threads > 1 && enableWasmThreadsInNode();
    if (multithread) wasm.setThreadsCount(threads);
    if (!(await tf.setBackend("wasm"))) return undefined;
    await tf.ready();
    shareDataOnCopy();
    // getThreadsCount() reports XNNPACK's extra workers, not the total; the pool has `threads`.
    const got = multithread ? threads : 1;
    const native = await nativeMatMul("wasm", threads);
    return { name, threads: got, detail: `wasm ${tf.env().getBool("WASM_HAS_SIMD_SUPPORT") ? "SIMD" : "no SIMD"}, ${got} thread(s)${native}` };
  }
  await tf.setBackend("cpu");
  await tf.ready();
  return { name: "cpu", threads: 1, detail: `pure JavaScript${await nativeMatMul("cpu", threads)}` };
}

/**
 * The optional OpenBLAS matMul kernel (src/kernels/native, built at install where a compiler and BLAS
 * exist) replaces the backend's BatchMatMul when present; anything missing or failing leaves tfjs as is.
 * DOCS2MODEL_NO_NATIVE=1 turns it off.
 */
async function nativeMatMul(backend: "wasm" | "cpu", threads: number): Promise<string> {
  if (process.env.DOCS2MODEL_NO_NATIVE) return "";
  try {
    // A computed specifier: the native module is optional and owned by its own area (src/kernels/native).
    const spec = "./native/native-matmul.ts";
    const mod = (await import(spec)) as { registerNativeMatMul?: (b: string, t: number) => { active: boolean; detail: string } };
    const status = mod.registerNativeMatMul?.(backend, threads);
    if (!status?.active) return "";
    useFastBatchedMatMul(true);
    const fusedSpec = "./native/native-fused.ts";
    const fused = ((await import(fusedSpec)) as { registerFusedKernels?: (b: string) => FusedOps | undefined }).registerFusedKernels?.(backend);
    useFusedOps(fused);
    return `, matmul: ${status.detail}${fused ? ", fused kernels" : ""}`;
  } catch {
    return "";
  }
}

/**
 * tfjs-backend-wasm's Identity (and Cast to the same dtype) copy the tensor, and tfjs calls Identity for
 * every tensor a custom gradient saves: ≈ 100 ms of copies per "small" training step. Tensors are
 * immutable (variables swap their data on assign), so like the cpu backend we share the data and
 * count a reference instead.
 */
function shareDataOnCopy(): void {
  type Info = tf.TensorInfo;
  type Backend = { incRef(dataId: object): void };
  const share = (x: Info, backend: Backend): Info => { backend.incRef(x.dataId); return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }; };
  const identity = tf.getKernel("Identity", "wasm");
  const cast = tf.getKernel("Cast", "wasm");
  if (!identity || !cast || (identity.kernelFunc as { shares?: boolean }).shares) return;
  const sharedIdentity = Object.assign((args: Parameters<typeof identity.kernelFunc>[0]) => {
    const x = (args.inputs as { x: Info }).x;
    return x.dtype === "string" ? identity.kernelFunc(args) : share(x, args.backend as unknown as Backend);
  }, { shares: true });
  const sharedCast = (args: Parameters<typeof cast.kernelFunc>[0]) => {
    const x = (args.inputs as { x: Info }).x;
    return (args.attrs as { dtype?: string }).dtype === x.dtype && x.dtype !== "string" ? share(x, args.backend as unknown as Backend) : cast.kernelFunc(args);
  };
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel({ ...identity, kernelFunc: sharedIdentity as typeof identity.kernelFunc });
  tf.unregisterKernel("Cast", "wasm");
  tf.registerKernel({ ...cast, kernelFunc: sharedCast as typeof cast.kernelFunc });
}

/**
 * The temp folder for the two wasm scripts, named with our pid: removed when this process exits (also after
 * a crash or Ctrl-C, which end in process.exit), and, should a kill -9 leave it behind, by the next run,
 * which removes every `tfjs-wasm-<pid>-*` folder whose process is gone.
 */
function wasmScriptDir(): string {
  const base = tmpdir();
  for (const name of readdirSync(base)) {
    const pid = Number(/^tfjs-wasm-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !processAlive(pid)) rmSync(join(base, name), { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(base, `tfjs-wasm-${process.pid}-`));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  process.on("exit", remove);
  // The wasm module rethrows from its own uncaughtException handler, and then Node exits without 'exit'.
  process.on("uncaughtExceptionMonitor", remove);
  return dir;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * tfjs-backend-wasm turns threads off whenever it runs in Node (tfjs issue #3830) because its
 * pthread workers are started from Blob URLs, which Node's worker_threads cannot load. We turn the
 * flag on and make the two Blobs it creates (the main script and the worker script) real temp files:
 * the worker gets a file path, and inside the worker the main-script "object URL" is that file too.
 */
function enableWasmThreadsInNode(): boolean {
  const g = globalThis as { Blob: typeof Blob; URL: typeof URL };
  if ((g.Blob as unknown as { patchedForWasm?: boolean }).patchedForWasm) return true;
  if (typeof SharedArrayBuffer === "undefined") return false;
  const dir = wasmScriptDir();
  const texts = new WeakMap<object, string>();
  let mainScriptPath: string | undefined;
  const OriginalBlob = g.Blob;
  class TextBlob extends OriginalBlob {
    static patchedForWasm = true;
    constructor(parts?: ConstructorParameters<typeof Blob>[0], options?: ConstructorParameters<typeof Blob>[1]) {
      super(parts ?? [], options);
      if (parts?.every((p) => typeof p === "string")) {
        const text = (parts as string[]).join("");
        texts.set(this, text);
        if (text.startsWith("var WasmBackendModuleThreadedSimd")) {
          mainScriptPath = join(dir, "tfjs-wasm-main.cjs");
          // The factory's source refers to the bundle's hoisted requires (rollup's require$$N).
          const requires = `var require$$0=require("fs"),require$$1=require("path"),require$$2=require("worker_threads"),require$$3=require("perf_hooks"),require$$4=require("os"),commonjsGlobal=globalThis;\n`;
          writeFileSync(mainScriptPath, requires + text);
        }
      }
    }
  }
  const originalCreate = g.URL.createObjectURL.bind(g.URL);
  g.URL.createObjectURL = (obj: Blob) => {
    const text = texts.get(obj);
    if (text === undefined) return originalCreate(obj);
    if (text.startsWith("var WasmBackendModuleThreadedSimd")) return mainScriptPath!;
    // The pthread worker script: make its own createObjectURL hand back the main script's path.
    const path = join(dir, `tfjs-wasm-worker.cjs`);
    const prelude = `URL.createObjectURL=()=>${JSON.stringify(mainScriptPath ?? "")};URL.revokeObjectURL=()=>{};\n`;
    writeFileSync(path, prelude + text);
    return path;
  };
  g.Blob = TextBlob as typeof Blob;
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  return true;
}

export { tf };
