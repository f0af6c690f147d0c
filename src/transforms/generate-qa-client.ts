// Opens the LLM client a step uses, through the provider layer; `extractive` needs no client at all.
import type { Settings } from "../config.ts";
import { PipelineError } from "../errors.ts";
import type { LlmClient } from "../providers/types.ts";

type OpenClient = (settings: Settings, opts: { step: string }) => Promise<LlmClient>;

/** null means: build output offline (extractive generator / heuristic judge). */
export async function openStepClient(settings: Settings, step: string): Promise<LlmClient | null> {
  if (settings.provider === "extractive") return null;
  let open: OpenClient | undefined;
  const modulePath = "../providers/client.ts";
  try {
    open = ((await import(modulePath)) as { openClient?: OpenClient }).openClient;
  } catch {
    open = undefined;
  }
  if (!open) {
    if (!settings.provider) return null;
    throw new PipelineError("E_CONFIG", `provider "${settings.provider}" is not available in this build; use --provider extractive`, { stage: step });
  }
  const client = await open(settings, { step });
  return client.provider === "extractive" ? null : client;
}
