// Google Gemini backend: JSON replies through responseMimeType + responseSchema.
import { GoogleGenAI, type Content, type GenerateContentConfig, type GenerateContentResponse } from "@google/genai";
import { statusCheckingFetch, toProviderError, type ErrorContext } from "./errors.ts";
import { probeReachable, requireKey } from "./probe.ts";
import { toGeminiSchema } from "./gemini-schema.ts";
import type { BackendOptions, GenerateRequest, GenerateResult, Provider } from "./types.ts";

export const GEMINI_DEFAULT_MODEL = "gemini-2.0-flash";
export const GEMINI_DEFAULT_URL = "https://generativelanguage.googleapis.com";

/** contents + config for a request: the same whether sent now or inlined in a batch (batch/gemini.ts). */
export function geminiRequest(req: GenerateRequest): { contents: Content[]; config: GenerateContentConfig } {
  const system = req.messages.filter((m) => m.role === "system").map((m) => m.content).join("\n\n");
  const contents = req.messages
    .filter((m) => m.role !== "system")
    .map((m) => ({ role: m.role === "assistant" ? "model" : "user", parts: [{ text: m.content }] }));
  return {
    contents,
    config: {
      ...(system && { systemInstruction: system }),
      ...(req.temperature !== undefined && { temperature: req.temperature }),
      ...(req.maxTokens !== undefined && { maxOutputTokens: req.maxTokens }),
      ...(req.schema && { responseMimeType: "application/json", responseSchema: toGeminiSchema(req.schema.schema) }),
    },
  };
}

/** A generateContent response → our result (also each inlined response of a batch). */
export function fromGeminiResponse(res: GenerateContentResponse, model: string): GenerateResult {
  const candidate = res.candidates?.[0];
  const text = (candidate?.content?.parts ?? []).map((p) => p.text ?? "").join("");
  return {
    text,
    usage: { inputTokens: res.usageMetadata?.promptTokenCount ?? 0, outputTokens: res.usageMetadata?.candidatesTokenCount ?? 0 },
    model: res.modelVersion || model,
    finishReason: candidate?.finishReason ?? undefined,
  };
}

export function geminiProvider(opts: BackendOptions): Provider {
  const baseURL = opts.baseURL ?? GEMINI_DEFAULT_URL;
  const ctx: ErrorContext = { provider: "gemini", model: opts.model, baseURL, keyVar: "GEMINI_API_KEY (or GOOGLE_API_KEY)", urlVar: "--base-url or GEMINI_BASE_URL", apiKey: opts.apiKey };
  const client = new GoogleGenAI({
    apiKey: opts.apiKey,
    // No retryOptions: the SDK then makes exactly one attempt. Our fetch keeps Retry-After visible.
    httpOptions: { baseUrl: baseURL, fetch: statusCheckingFetch(opts.fetch ?? globalThis.fetch) },
  });

  return {
    name: "gemini",
    baseURL,
    model: opts.model,
    async generate(req: GenerateRequest): Promise<GenerateResult> {
      try {
        const { contents, config } = geminiRequest(req);
        const res = await client.models.generateContent({ model: opts.model, contents, config: { abortSignal: req.signal, ...config } });
        return fromGeminiResponse(res, opts.model);
      } catch (error) {
        throw toProviderError(error, ctx, req.signal);
      }
    },
    async check() {
      requireKey(opts.apiKey, "gemini", "GEMINI_API_KEY (or GOOGLE_API_KEY)");
      await probeReachable(baseURL, "the Gemini API", "check your network, --base-url or GEMINI_BASE_URL", { fetch: opts.fetch });
    },
  };
}
