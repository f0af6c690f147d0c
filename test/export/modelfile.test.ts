import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { renderGoChat, renderGoPrompt } from "../../src/chat/go-template.ts";
import { jinjaPrompt, jinjaProbePrompt, ollamaTemplateFor, TEMPLATE_FAMILIES, templatesAgree } from "../../src/chat/ollama-template.ts";
import { createParameters, renderModelfile } from "../../src/export/modelfile.ts";
import { FAMILY_JINJA } from "./modelfile-templates.ts";

const golden = (name: string) => new URL(`./modelfile-golden/${name}.Modelfile`, import.meta.url);

// Golden files were reviewed by hand; UPDATE_GOLDEN=1 rewrites them after a deliberate change.
for (const family of TEMPLATE_FAMILIES) {
  test(`Modelfile golden: ${family} (${FAMILY_JINJA[family]!.model})`, () => {
    const j = FAMILY_JINJA[family]!;
    const template = ollamaTemplateFor({ chatTemplate: j.chatTemplate, bosToken: j.bos, eosToken: j.eos, eogTokens: j.eog });
    assert.equal(template.verified, true, "the TEMPLATE must give the jinja template's own prompt");
    const text = renderModelfile({ from: "./model.gguf", template, numCtx: 2048, system: "You answer questions about the sample documents." });
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden(family), text);
    assert.equal(text, readFileSync(golden(family), "utf8"));
  });
}

test("every family template reproduces its jinja prompt, with and without a system turn", () => {
  for (const family of TEMPLATE_FAMILIES) {
    const j = FAMILY_JINJA[family]!;
    const info = { chatTemplate: j.chatTemplate, bosToken: j.bos, eosToken: j.eos };
    const t = ollamaTemplateFor(info);
    const userOnly = jinjaProbePrompt(info, false)!;
    // A template that inserts a default system prompt (Qwen) gets it as the Modelfile's SYSTEM default.
    const system = t.defaultSystem;
    assert.equal(renderGoPrompt(t.template, { System: system, Prompt: "What is the warranty period?" })!.trim(), userOnly.trim(), family);
  }
});

test("llama3, chatml and phi3 use the .Messages form and render multi-turn chats as their jinja does", () => {
  const turns = [
    { role: "system", content: "You answer from the manual." },
    { role: "user", content: "How long is the warranty?" }, { role: "assistant", content: "Two years." },
    { role: "user", content: "And for batteries?" }, { role: "assistant", content: "One year." },
    { role: "user", content: "Who pays shipping?" },
  ];
  for (const family of ["llama3", "chatml", "phi3"] as const) {
    const j = FAMILY_JINJA[family]!;
    const info = { chatTemplate: j.chatTemplate, bosToken: j.bos, eosToken: j.eos, eogTokens: j.eog };
    const t = ollamaTemplateFor(info);
    assert.equal(t.verifiedMultiTurn, true, family);
    assert.match(t.template, /\{\{-? range \.Messages \}\}/, family);
    assert.match(t.template, /\{\{ \.Role \}\}/, family);
    assert.match(t.template, /\{\{ \.Content \}\}/, family);
    assert.equal(renderGoChat(t.template, turns)!.trim(), jinjaPrompt(info, turns)!.trim(), `${family}: three exchanges with a system prompt`);
    // Without one, Ollama puts the Modelfile's SYSTEM default (Qwen's) first, as the jinja does.
    const ollamaTurns = [...(t.defaultSystem ? [{ role: "system", content: t.defaultSystem }] : []), ...turns.slice(1, 4)];
    assert.equal(renderGoChat(t.template, ollamaTurns)!.trim(), jinjaPrompt(info, turns.slice(1, 4))!.trim(), `${family}: no system prompt`);
  }
});

test("a .Prompt/.Response template runs once per exchange, as Ollama's legacy form does", () => {
  const t = "{{ if .System }}S:{{ .System }}\n{{ end }}U:{{ .Prompt }}\nA:{{ .Response }}|";
  assert.equal(renderGoChat(t, [{ role: "system", content: "s" }, { role: "user", content: "q1" }, { role: "assistant", content: "a1" }, { role: "user", content: "q2" }]), "S:s\nU:q1\nA:a1|U:q2\nA:");
});

test("Qwen's default system prompt becomes the SYSTEM default; a configured one wins", () => {
  const j = FAMILY_JINJA.chatml!;
  const t = ollamaTemplateFor({ chatTemplate: j.chatTemplate, eosToken: j.eos });
  assert.equal(t.defaultSystem, "You are a helpful assistant.");
  assert.match(renderModelfile({ from: "m", template: t }), /\nSYSTEM """You are a helpful assistant."""\n$/);
  assert.match(renderModelfile({ from: "m", template: t, system: "Be brief." }), /\nSYSTEM """Be brief."""\n$/);
  assert.equal(ollamaTemplateFor({ chatTemplate: FAMILY_JINJA.llama3!.chatTemplate }).defaultSystem, undefined);
});

test("a loose match from the converter is rejected when its prompt differs from the model's", () => {
  // ollama-utils maps Llama 3's template to a ChatML one by its first 128 characters; the probe catches it.
  const j = FAMILY_JINJA.llama3!;
  const t = ollamaTemplateFor({ chatTemplate: j.chatTemplate, bosToken: j.bos, eosToken: j.eos });
  assert.ok(!t.template.includes("<|im_start|>"));
  assert.ok(t.template.includes("<|start_header_id|>"));
  assert.equal(templatesAgree("{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}<|im_start|>assistant\n", { chatTemplate: j.chatTemplate, bosToken: j.bos }), false);
});

test("without a jinja template the configured family decides, with end tokens as stops", () => {
  const t = ollamaTemplateFor({ family: "qwen2.5", eosToken: "<|im_end|>", eogTokens: ["<|endoftext|>"] });
  assert.equal(t.source, "chatml");
  assert.deepEqual(t.stop, ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]);
  assert.throws(() => ollamaTemplateFor({ family: "gpt9" }), /unknown chat template family "gpt9".*llama2, llama3/);
  assert.throws(() => ollamaTemplateFor({}), /set FINETUNE_MODEL_TYPE/);
});

test("ADAPTER variant and /api/create parameters", () => {
  const template = ollamaTemplateFor({ family: "llama3", eosToken: "<|eot_id|>" });
  const text = renderModelfile({ from: "./base.gguf", adapter: "./adapter.gguf", template, numCtx: 512, comments: ["base: tiny"] });
  assert.match(text, /^# base: tiny\nFROM \.\/base\.gguf\nADAPTER \.\/adapter\.gguf\nTEMPLATE """/);
  assert.match(text, /PARAMETER num_ctx 512\n$/);
  assert.ok(!text.includes("SYSTEM"));
  assert.deepEqual(createParameters({ template, numCtx: 512 }), { stop: ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], num_ctx: 512 });
  assert.throws(() => renderModelfile({ from: "x", template, system: 'say """ hi' }), /SYSTEM contains """/);
});

test("Go template subset: trimming, else branches, and refusal outside the subset", () => {
  assert.equal(renderGoPrompt("A{{- if .System }} {{ .System }}{{ else }} none{{ end -}}  \n|{{ .Prompt }}{{ .Response }}tail", { Prompt: "p" }), "A none|p");
  assert.equal(renderGoPrompt("{{ range .Messages }}{{ .Content }}{{ end }}", { Prompt: "p" }), "p");
  assert.equal(renderGoPrompt("{{ range .Messages }}{{ len .Content }}{{ end }}", { Prompt: "p" }), undefined, "functions are outside the subset");
  assert.equal(renderGoPrompt("{{ range $i, $m := .Messages }}{{ end }}", { Prompt: "p" }), undefined, "variables are outside the subset");
  assert.equal(renderGoPrompt("{{ if .System }}unclosed", { Prompt: "p" }), undefined);
});
