// Test helper: each vendor's loopback server paired with our backend for it, so tests run once per vendor.
import { claudeProvider } from "../../src/providers/claude.ts";
import { geminiProvider } from "../../src/providers/gemini.ts";
import { ollamaProvider } from "../../src/providers/ollama.ts";
import { openaiProvider } from "../../src/providers/openai.ts";
import type { Provider, ProviderName } from "../../src/providers/types.ts";
import { startAnthropicServer } from "../fixtures/servers/anthropic.ts";
import { startGeminiServer } from "../fixtures/servers/gemini.ts";
import type { LoopbackServer, VendorServerOptions } from "../fixtures/servers/loopback.ts";
import { startOllamaServer } from "../fixtures/servers/ollama.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";

export const TEST_KEY = "sk-test-SECRET-loopback-key-0123456789";

export interface Vendor {
  name: ProviderName;
  /** Does the vendor check an API key? (Ollama does not.) */
  hasKey: boolean;
  start(opts: VendorServerOptions): Promise<LoopbackServer & { baseURL: string }>;
  provider(server: { baseURL: string }, apiKey?: string, model?: string): Provider;
}

export const VENDORS: Vendor[] = [
  { name: "openai", hasKey: true, start: startOpenAiServer, provider: (s, k = TEST_KEY, m = "gpt-test") => openaiProvider({ model: m, apiKey: k, baseURL: s.baseURL }) },
  { name: "claude", hasKey: true, start: startAnthropicServer, provider: (s, k = TEST_KEY, m = "claude-test") => claudeProvider({ model: m, apiKey: k, baseURL: s.baseURL }) },
  { name: "gemini", hasKey: true, start: startGeminiServer, provider: (s, k = TEST_KEY, m = "gemini-test") => geminiProvider({ model: m, apiKey: k, baseURL: s.baseURL }) },
  { name: "ollama", hasKey: false, start: (o) => startOllamaServer({ ...o, models: ["ollama-test:latest"] }), provider: (s, _k, m = "ollama-test") => ollamaProvider({ model: m, baseURL: s.baseURL }) },
];

export const QA_SCHEMA = {
  name: "qa_pairs",
  schema: {
    type: "object",
    properties: {
      pairs: {
        type: "array",
        minItems: 1,
        items: { type: "object", properties: { question: { type: "string" }, answer: { type: "string" } }, required: ["question", "answer"], additionalProperties: false },
      },
    },
    required: ["pairs"],
    additionalProperties: false,
  },
};
