// tf.customGrad with the loose typing its overloads need for several inputs: the one wrapper the tfjs ops
// (model/ops.ts, model/head-loss.ts) and the native fused ops (native/native-fused.ts) build their gradients with.
import * as tf from "@tensorflow/tfjs";

export type CustomFn = (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: any, saved: any) => tf.Tensor | tf.Tensor[] };
export const custom = (fn: CustomFn) => tf.customGrad(fn as unknown as Parameters<typeof tf.customGrad>[0]);
