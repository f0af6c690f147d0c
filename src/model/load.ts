// Loads a llama-family GGUF into a LlamaModel, refusing models too big for memory or not trainable (preflight.ts)
// before reading weights.
import { PipelineError } from "../errors.ts";
import { openGguf } from "../gguf/reader.ts";
import { configFromGguf, type LlamaConfig } from "./config.ts";
import { LlamaModel, tensorLayout, type ModelOptions, type RawTensor } from "./llama.ts";
import { checkFits } from "./memory.ts";
import { checkTensors } from "./supported.ts";

export { checkFits, estimateTrainingBytes, MEMORY_BUDGET_BYTES, memoryLimitBytes, WASM_HEAP_BYTES } from "./memory.ts";

/** The model's shape from its GGUF metadata, without reading any weights. */
export async function readGgufConfig(path: string): Promise<LlamaConfig> {
  const gguf = await openGguf(path);
  try {
    return configOf(gguf, path);
  } finally {
    await gguf.close();
  }
}

function configOf(gguf: Awaited<ReturnType<typeof openGguf>>, path: string): LlamaConfig {
  return configFromGguf(Object.fromEntries([...gguf.metadata.keys()].map((k) => [k, gguf.meta(k)])), gguf.tensors.map((t) => t.name), path);
}

export interface LoadedModel { model: LlamaModel; config: LlamaConfig; metadata: Map<string, unknown> }

export async function loadGgufModel(path: string, opts: ModelOptions & { backend?: string } = {}): Promise<LoadedModel> {
  const gguf = await openGguf(path);
  try {
    const config = configOf(gguf, path);
    if (opts.backend) checkFits(config, opts.backend, opts.trainable ?? false, path);
    // Unknown tensors (biases, fused projections…) would be dropped silently: refuse them as preflight does.
    const problem = checkTensors(config, gguf.tensors);
    if (problem) throw new PipelineError("E_MODEL", problem, { file: path });
    const raw: RawTensor[] = [];
    for (const { name } of tensorLayout(config)) {
      const info = gguf.tensor(name);
      if (!info) throw new PipelineError("E_MODEL", `tensor ${name} is missing; the file is not a complete ${config.arch} model`, { file: path });
      raw.push({ name, dims: info.dims, data: await gguf.readTensorF32(name) });
    }
    const metadata = new Map([...gguf.metadata.keys()].map((k) => [k, gguf.meta(k)] as [string, unknown]));
    return { model: new LlamaModel(config, raw, opts), config, metadata };
  } finally {
    await gguf.close();
  }
}
