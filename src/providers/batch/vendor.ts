// The batch service for a step's backend: openai, claude and gemini have one; the rest are refused by name.
import { PipelineError } from "../../errors.ts";
import { keyFor } from "../select.ts";
import type { Provider } from "../types.ts";
import { claudeBatch } from "./claude.ts";
import { geminiBatch } from "./gemini.ts";
import { openaiBatch } from "./openai.ts";
import type { BatchVendor } from "./types.ts";

export const BATCH_PROVIDERS = ["openai", "claude", "gemini"] as const;

/** Refuse --batch for a backend without a batch service, before anything is read or sent. */
export function requireBatchProvider(name: string): void {
  if ((BATCH_PROVIDERS as readonly string[]).includes(name)) return;
  throw new PipelineError(
    "E_USAGE",
    `--batch uses a vendor's batch service, and ${name} has none (${BATCH_PROVIDERS.join(", ")} do); run without --batch, or pick one of those with --provider`,
    { field: "--batch (PIPELINE_BATCH)" },
  );
}

/** Same model, server and key as the synchronous backend the step opened. */
export function batchVendorFor(backend: Pick<Provider, "name" | "model" | "baseURL">, env: Record<string, string | undefined>, fetch?: typeof globalThis.fetch): BatchVendor {
  requireBatchProvider(backend.name);
  const common = { model: backend.model, apiKey: keyFor(backend.name, env), baseURL: backend.baseURL, fetch };
  switch (backend.name) {
    case "openai": return openaiBatch(common);
    case "claude": return claudeBatch(common);
    default: return geminiBatch(common);
  }
}
