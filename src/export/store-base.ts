// What an export keeps from a base that came out of the Ollama store: its TEMPLATE when it renders the prompt the
// model was trained on, its PARAMS (temperature, top_p…) with our stops added, its LICENSE, and its SYSTEM.
import { log } from "../log.ts";
import { resolveBaseModel, type OllamaModelInfo } from "../model/base-model.ts";
import { templatesAgree, type OllamaTemplate } from "../chat/ollama-template.ts";
import type { ChatTemplateInfo } from "../chat/template.ts";

export interface StoreBase { name: string; info: OllamaModelInfo }

/**
 * The store entry the fine-tune's base came from: the training report names it, and it still resolves to the
 * very blob the adapter was trained on (a re-pulled tag that now points elsewhere is not the same base).
 */
export async function storeBaseOf(modelName: string | undefined, basePath: string | undefined): Promise<StoreBase | undefined> {
  if (!modelName || !basePath || !/[\\/]blobs[\\/]sha256[-:]/.test(basePath)) return undefined;
  try {
    const r = await resolveBaseModel(modelName);
    if (r.kind !== "ollama") return undefined;
    if (r.path !== basePath) {
      log.warn(`export: Ollama's "${modelName}" now points at another blob than the one trained on; the store's TEMPLATE, PARAMS, SYSTEM and LICENSE are not carried over`);
      return undefined;
    }
    return { name: modelName, info: r.ollama };
  } catch (e) {
    log.warn(`export: the base "${modelName}" no longer resolves in the Ollama store (${(e as Error).message}); its TEMPLATE, PARAMS, SYSTEM and LICENSE are not carried over`);
    return undefined;
  }
}

export interface StoreModelfile {
  template: OllamaTemplate;
  /** PARAMETERs besides stop (and num_ctx when the store sets it). */
  parameters: Record<string, string | number | boolean | Array<string | number>>;
  numCtx?: number;
  license: string[];
  system?: string;
}

/** The store's layers merged into what export derived from the model's own chat template. */
export function mergeStoreLayers(store: StoreBase, ours: OllamaTemplate, chat: ChatTemplateInfo): StoreModelfile {
  const { stop, num_ctx, ...rest } = (store.info.params ?? {}) as Record<string, unknown>;
  let template = ours;
  if (store.info.template !== undefined) {
    const src = { chatTemplate: chat.template, bosToken: chat.bosToken, eosToken: chat.eosToken, eogTokens: chat.eogTokens };
    if (templatesAgree(store.info.template, src)) {
      template = { ...ours, template: store.info.template, source: `ollama:${store.name}`, verified: true };
    } else {
      log.info(`export: the store's TEMPLATE of ${store.name} does not render the prompt the model was trained on (or uses constructs that cannot be checked); writing the checked template instead`);
    }
  }
  const storeStops = Array.isArray(stop) ? stop.map(String) : typeof stop === "string" ? [stop] : [];
  template = { ...template, stop: [...new Set([...template.stop, ...storeStops])].filter((s) => s.length > 0 && !/[\n\r"]/.test(s)) };
  const parameters: StoreModelfile["parameters"] = {};
  for (const [k, v] of Object.entries(rest)) {
    if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") parameters[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")) parameters[k] = v as Array<string | number>;
  }
  return {
    template, parameters, license: store.info.license,
    ...(typeof num_ctx === "number" ? { numCtx: num_ctx } : {}),
    ...(store.info.system !== undefined ? { system: store.info.system } : {}),
  };
}
