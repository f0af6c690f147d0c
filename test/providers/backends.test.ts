// Each backend through its real vendor SDK against a loopback server speaking that vendor's protocol.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ProviderError } from "../../src/providers/errors.ts";
import { QA_SCHEMA, TEST_KEY, VENDORS } from "./vendors.ts";

for (const v of VENDORS) {
  test(`${v.name}: plain reply with usage`, async () => {
    const server = await v.start({ apiKey: v.hasKey ? TEST_KEY : undefined, script: [{ reply: "Paris is the capital.", usage: { input: 11, output: 5 } }] });
    try {
      const r = await v.provider(server).generate({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Capital of France?" }], temperature: 0.3 });
      assert.equal(r.text, "Paris is the capital.");
      assert.deepEqual(r.usage, { inputTokens: 11, outputTokens: 5 });
      const req = server.requests[0]!;
      assert.deepEqual(req.messages.map((m) => m.role), ["system", "user"]);
      assert.equal(req.messages[1]!.content, "Capital of France?");
      assert.equal(req.temperature, 0.3);
    } finally {
      await server.close();
    }
  });

  test(`${v.name}: JSON-schema request carries schema, model and temperature`, async () => {
    const server = await v.start({ apiKey: v.hasKey ? TEST_KEY : undefined });
    try {
      const p = v.provider(server);
      const r = await p.generate({ messages: [{ role: "user", content: "Make Q&A." }], schema: QA_SCHEMA, temperature: 0.2, maxTokens: 300 });
      const parsed = JSON.parse(r.text);
      assert.ok(Array.isArray(parsed.pairs) && typeof parsed.pairs[0].question === "string");
      const req = server.requests[0]!;
      assert.equal(req.model, p.model);
      assert.equal(req.temperature, 0.2);
      assert.ok(req.schema, "schema sent");
      const props = (req.schema as { properties: Record<string, unknown> }).properties;
      assert.ok(props.pairs, "schema has the pairs property");
      if (v.name === "openai") assert.equal(req.body.response_format.type, "json_schema");
      if (v.name === "claude") assert.deepEqual(req.body.tool_choice, { type: "tool", name: "qa_pairs" });
      if (v.name === "gemini") {
        assert.equal(req.body.generationConfig.responseMimeType, "application/json");
        assert.equal(req.body.generationConfig.responseSchema.type, "OBJECT");
      }
      if (v.name === "ollama") assert.equal(req.body.stream, false);
    } finally {
      await server.close();
    }
  });

  test(`${v.name}: 429 becomes a retryable error carrying Retry-After, one request only`, async () => {
    const server = await v.start({ script: [{ status: 429, headers: { "retry-after": "2" } }] });
    try {
      const err = await v.provider(server).generate({ messages: [{ role: "user", content: "hi" }] }).then(() => null, (e) => e);
      assert.ok(err instanceof ProviderError, String(err));
      assert.equal(err.status, 429);
      assert.equal(err.code, "E_RATE_LIMIT");
      assert.equal(err.retryable, true);
      assert.equal(err.retryAfterMs, 2000);
      assert.equal(server.requests.length, 1, "the SDK must not retry by itself");
    } finally {
      await server.close();
    }
  });

  test(`${v.name}: 503 is retryable, 400 is not`, async () => {
    const server = await v.start({ script: [{ status: 503 }, { status: 400, message: "bad field" }] });
    try {
      const p = v.provider(server);
      const e1 = await p.generate({ messages: [{ role: "user", content: "a" }] }).then(() => null, (e) => e);
      assert.ok(e1 instanceof ProviderError && e1.retryable && e1.status === 503, String(e1));
      const e2 = await p.generate({ messages: [{ role: "user", content: "b" }] }).then(() => null, (e) => e);
      assert.ok(e2 instanceof ProviderError && !e2.retryable && e2.status === 400, String(e2));
      assert.match(e2.message, /bad field/);
      assert.equal(server.requests.length, 2);
    } finally {
      await server.close();
    }
  });

  if (v.hasKey) {
    test(`${v.name}: wrong key → E_AUTH naming the variable, key not shown`, async () => {
      const server = await v.start({ apiKey: "the-right-key-xyz" });
      try {
        const err = await v.provider(server, TEST_KEY).generate({ messages: [{ role: "user", content: "hi" }] }).then(() => null, (e) => e);
        assert.ok(err instanceof ProviderError, String(err));
        assert.equal(err.code, "E_AUTH");
        assert.equal(err.fatal, true);
        assert.match(err.message, /_API_KEY/);
        assert.ok(!err.message.includes(TEST_KEY));
        assert.equal(server.requests.length, 1);
      } finally {
        await server.close();
      }
    });
  }

  test(`${v.name}: abort signal stops a hung request`, async () => {
    const server = await v.start({ script: [{ hang: true }] });
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(new DOMException("timed out", "TimeoutError")), 100);
      const err = await v.provider(server).generate({ messages: [{ role: "user", content: "hi" }], signal: ac.signal }).then(() => null, (e) => e);
      assert.ok(err instanceof ProviderError, String(err));
      assert.ok(err.kind === "abort" || err.kind === "timeout", err.kind);
    } finally {
      await server.close();
    }
  });
}

test("unreachable server is a retryable network error naming the URL variable", async () => {
  const { openaiProvider } = await import("../../src/providers/openai.ts");
  const err = await openaiProvider({ model: "m", apiKey: TEST_KEY, baseURL: "http://127.0.0.1:9/v1" })
    .generate({ messages: [{ role: "user", content: "hi" }] })
    .then(() => null, (e) => e);
  assert.ok(err instanceof ProviderError, String(err));
  assert.equal(err.kind, "network");
  assert.equal(err.retryable, true);
  assert.match(err.message, /OPENAI_BASE_URL/);
});

test("Gemini schema: upper-case types, nullable from type arrays, key order kept, unsupported keys dropped", async () => {
  const { toGeminiSchema } = await import("../../src/providers/gemini-schema.ts");
  const g = toGeminiSchema({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    additionalProperties: false,
    properties: { b: { type: ["string", "null"], description: "d" }, a: { type: "array", items: { type: "integer", minimum: 0 }, minItems: 1 }, c: { const: "x" } },
    required: ["b", "a"],
  });
  assert.deepEqual(g, {
    type: "OBJECT",
    properties: { b: { type: "STRING", nullable: true, description: "d" }, a: { type: "ARRAY", minItems: 1, items: { type: "INTEGER", minimum: 0 } }, c: { enum: ["x"] } },
    propertyOrdering: ["b", "a", "c"],
    required: ["b", "a"],
  });
});

test("OLLAMA_HOST forms: host:port, bare host, 0.0.0.0, full URL", async () => {
  const { ollamaUrl } = await import("../../src/providers/ollama.ts");
  assert.equal(ollamaUrl(undefined), "http://127.0.0.1:11434");
  assert.equal(ollamaUrl("gpu-box:8080"), "http://gpu-box:8080");
  assert.equal(ollamaUrl("gpu-box"), "http://gpu-box:11434");
  assert.equal(ollamaUrl("0.0.0.0"), "http://127.0.0.1:11434");
  assert.equal(ollamaUrl("https://ollama.example.com/"), "https://ollama.example.com");
});
