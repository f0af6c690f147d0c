// llama-cpp backend: a tiny random llama GGUF (our writer) run by node-llama-cpp; the grammar forces schema-valid JSON.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { z } from "zod";
import { createClient } from "../../src/providers/client.ts";
import { llamaCppProvider } from "../../src/providers/llama-cpp.ts";
import { DEFAULT_PRICES } from "../../src/providers/prices.ts";
import type { Provider } from "../../src/providers/types.ts";
import { writeTestModel } from "../model/fixture.ts";

// Bounded strings and enums: random weights would otherwise fill a string until max tokens.
const SCHEMA = {
  type: "object",
  properties: {
    question: { type: "string", maxLength: 6 },
    verdict: { enum: ["PASS", "NEEDS_REVIEW", "FAIL"] },
    grounded: { type: "boolean" },
  },
  required: ["question", "verdict", "grounded"],
  additionalProperties: false,
};
// Random byte tokens can split a UTF-8 character, so the decoded string may be longer than maxLength code points.
const Reply = z.object({ question: z.string(), verdict: z.enum(["PASS", "NEEDS_REVIEW", "FAIL"]), grounded: z.boolean() }).strict();

let provider: Provider;
before(async () => {
  const m = await writeTestModel("llama", { seed: 3 });
  provider = llamaCppProvider({ modelPath: m.path, threads: 2, maxContext: 256 });
});
after(async () => provider.close?.());

test("garbage weights, valid JSON: the grammar makes every reply parse and validate", async () => {
  await provider.check!();
  const client = createClient(provider, { step: "test", concurrency: 2, timeoutMs: 60_000, maxRetries: 0, prices: DEFAULT_PRICES });
  // Two requests at once: the backend runs them one after the other on its single sequence.
  const replies = await Promise.all(
    ["the river", "the mill"].map((topic) =>
      client.generateJson({ messages: [{ role: "system", content: "Answer in JSON." }, { role: "user", content: `Ask about ${topic}.` }], schema: { name: "judge", schema: SCHEMA }, temperature: 0.8, maxTokens: 120 }, Reply),
    ),
  );
  for (const r of replies) {
    assert.ok(r.ok, r.ok ? "" : r.error);
    assert.equal(r.repaired, false, "valid on the first try: the grammar did it");
    assert.ok(r.result.usage.inputTokens > 0 && r.result.usage.outputTokens > 0, JSON.stringify(r.result.usage));
  }
  assert.equal(client.concurrency, 1, "llama-cpp runs one request at a time");
  const row = client.usage().rows[0]!;
  assert.equal(row.calls, 2);
  assert.equal(row.cost, 0, "local backends are free");
});

test("a missing GGUF fails before any work, naming the variable", async () => {
  const p = llamaCppProvider({ modelPath: "/nonexistent/model.gguf" });
  await assert.rejects(p.check!(), /PIPELINE_LLM_MODEL/);
});
