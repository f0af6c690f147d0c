// Where a native kernel reads its inputs and writes its outputs: the wasm backend keeps tensor bytes
// in its heap (views are taken in place), the cpu backend in JS typed arrays.
import type * as tf from "@tensorflow/tfjs";

type Info = tf.TensorInfo;

/** The few members of the wasm backend the kernels touch. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: "float32"): Info;
  typedArrayFromHeap(t: Info): Float32Array;
}
/** The few members of the cpu backend the kernels touch. */
interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): Info;
}

export interface KernelMemory {
  /**
   * Allocates float32 outputs, uninitialized: kernels must write every element. Take views only after
   * the last allocation: a wasm malloc may move the heap.
   */
  outputs(shapes: number[][]): Info[];
  /** A Float32Array over the tensor's bytes (in place). */
  view(t: Info): Float32Array;
}

export function kernelMemory(backendName: string, backend: unknown): KernelMemory {
  if (backendName === "wasm") {
    const wasm = backend as WasmBackendLike;
    return { outputs: (shapes) => shapes.map((s) => wasm.makeOutput(s, "float32")), view: (t) => wasm.typedArrayFromHeap(t) };
  }
  const cpu = backend as CpuBackendLike;
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return {
    // Uninitialized memory (the kernels write every element): zero-filling fresh outputs cost ≈ 1 ms per
    // 2048×688 product on the cpu backend.
    outputs: (shapes) => shapes.map((s) => cpu.makeTensorInfo(s, "float32", new Float32Array(Buffer.allocUnsafeSlow(size(s) * 4).buffer, 0, size(s)))),
    view: (t) => {
      const values = cpu.data.get(t.dataId).values;
      if (!(values instanceof Float32Array)) throw new Error("native kernel: cpu tensor data is not a Float32Array");
      return values;
    },
  };
}
