// Preflight: can this GGUF be fine-tuned here, and if not, why — decided from its architecture, metadata, rope,
// tensor names, dims and types and the memory it needs, without reading weights or loading tfjs. `model info`
// prints it; qa-train, finetune and `pipeline all` run it before any LLM request or output file.
import { PipelineError } from "../errors.ts";
import { openGguf } from "../gguf/reader.ts";
import { resolveBaseModel } from "./base-model.ts";
import { checkSupported, type Preflight, type PreflightOptions } from "./supported.ts";

export { checkSupported, checkTensors, type Preflight, type PreflightOptions } from "./supported.ts";

/** checkSupported on a GGUF file (header only). */
export async function checkGgufFile(path: string, o: PreflightOptions = {}): Promise<Preflight> {
  const f = await openGguf(path);
  try {
    const meta = Object.fromEntries([...f.metadata.keys()].map((k) => [k, f.meta(k)]));
    return checkSupported(meta, f.tensors, { ...o, file: path });
  } finally {
    await f.close();
  }
}

/**
 * Resolves the base model (FINETUNE_MODEL_NAME / --base) and refuses it with E_MODEL when it cannot be trained —
 * the first thing qa-train, finetune and `pipeline all` do. `tiny` is ours and always trainable.
 */
export async function preflightBase(spec: string | undefined, o: PreflightOptions & { path?: string } = {}): Promise<void> {
  const path = o.path ?? await resolveBaseModel(spec).then((r) => (r.kind === "tiny" ? undefined : r.path));
  if (!path) return;
  const p = await checkGgufFile(path, o);
  if (!p.trainable) throw new PipelineError("E_MODEL", `base model ${spec ?? path} cannot be fine-tuned here: ${p.reason}`, { file: path, field: "FINETUNE_MODEL_NAME" });
}
