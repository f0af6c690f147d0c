// Response cache: one JSON file per answered request, keyed by sha256 of everything that shapes the answer.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ChatMessage, GenerateResult, JsonSchemaSpec, ProviderName } from "./types.ts";

export interface CacheKeyParts {
  provider: ProviderName;
  /** The server: the same model name on two servers (a proxy, a local vLLM) is not the same model. */
  baseURL?: string;
  model: string;
  messages: ChatMessage[];
  schema?: JsonSchemaSpec;
  temperature?: number;
  maxTokens?: number;
}

/** Stable across runs and machines; the API key is deliberately not part of it (a trailing "/" of the URL neither). */
export function cacheKey(p: CacheKeyParts): string {
  const canonical = JSON.stringify([2, p.provider, p.baseURL?.replace(/\/+$/, "") ?? null, p.model, p.messages.map((m) => [m.role, m.content]), p.schema ?? null, p.temperature ?? null, p.maxTokens ?? null]);
  return createHash("sha256").update(canonical).digest("hex");
}

export class ResponseCache {
  constructor(readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<GenerateResult | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.path(key), "utf8")) as { result?: GenerateResult };
      return entry.result && typeof entry.result.text === "string" ? entry.result : undefined;
    } catch {
      return undefined; // missing or torn entry: ask again
    }
  }

  /** Written to a temporary name and renamed, so a crash never leaves a half entry under the real name. */
  async put(key: string, result: GenerateResult): Promise<void> {
    const file = this.path(key);
    await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const { text, usage, model, finishReason } = result;
    await writeFile(tmp, JSON.stringify({ savedAt: new Date().toISOString(), result: { text, usage, model, finishReason } }));
    await rename(tmp, file);
  }
}
