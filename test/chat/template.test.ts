// Chat templates: family presets render as the Ollama Go templates do; the GGUF's own template wins;
// prompt/answer split for loss masking.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chatTemplateOf, JINJA_PRESETS, ollamaTemplateFor, presetTemplate, renderChat, splitPromptAnswer, CHATML_TEMPLATE } from "../../src/chat/template.ts";
import { TEMPLATE_FAMILIES } from "../../src/chat/ollama-template.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { buildTinyModel, TINY_CONFIG } from "../../src/model/tiny.ts";
import { trainSpmVocab } from "../../src/tokenizer/spm.ts";
import { writeGguf } from "../../src/gguf/writer.ts";

const dir = mkdtempSync(join(tmpdir(), "chat-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const convo = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "What is GGUF?" },
  { role: "assistant", content: "A model file format." },
];

test("chatml renders the exact ChatML text", () => {
  assert.equal(
    renderChat(CHATML_TEMPLATE, convo.slice(0, 2), { addGenerationPrompt: true }),
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is GGUF?<|im_end|>\n<|im_start|>assistant\n",
  );
});

for (const family of TEMPLATE_FAMILIES) {
  test(`${family}: the jinja preset and the Ollama Go template give the same prompt`, () => {
    const info = { template: JINJA_PRESETS[family], source: family, bosToken: "<s>", eosToken: "</s>", eogTokens: [] };
    const o = ollamaTemplateFor(info);
    assert.equal(o.verified, true, `${family} verified (source ${o.source})`);
    assert.ok(o.stop.length > 0);
    const { prompt, answer } = splitPromptAnswer(info, convo);
    assert.ok(!prompt.startsWith("<s>"), "BOS text left to the tokenizer");
    assert.ok(prompt.includes("What is GGUF?") && prompt.includes("Be brief."));
    assert.ok(answer.includes("A model file format."), `${family} answer ${JSON.stringify(answer)}`);
    assert.ok(!answer.includes("What is GGUF?"));
  });
}

test("aliases and unknown families", () => {
  assert.equal(presetTemplate("qwen2.5").family, "chatml");
  assert.throws(() => presetTemplate("gpt5"), /unknown model type "gpt5".*llama2, llama3/);
});

test("the GGUF's own template wins; none and no family is a clear error", async () => {
  const vocab = trainSpmVocab("hello world hello world", { vocabSize: 270 });
  const p = join(dir, "tiny.gguf");
  await buildTinyModel(p, { ...TINY_CONFIG, vocab: vocab.tokens.length, dim: 32, layers: 1, heads: 2, kvHeads: 2, ffn: 32 }, vocab);
  const f = await openGguf(p);
  const info = chatTemplateOf(f, "llama3");
  await f.close();
  assert.equal(info.source, "gguf");
  assert.equal(info.template, CHATML_TEMPLATE);
  assert.equal(info.bosToken, "<s>");
  assert.equal(info.eosToken, "</s>");
  assert.ok(info.eogTokens.includes("<|im_end|>"));
  const o = ollamaTemplateFor(info);
  assert.ok(o.stop.includes("<|im_end|>"));
  assert.equal(o.verified, true);

  const bare = join(dir, "bare.gguf");
  await writeGguf(bare, { metadata: { "general.architecture": "llama" }, tensors: [] });
  const g = await openGguf(bare);
  assert.throws(() => chatTemplateOf(g), /no tokenizer.chat_template; set FINETUNE_MODEL_TYPE/);
  assert.equal(chatTemplateOf(g, "gemma").source, "gemma");
  await g.close();
});
