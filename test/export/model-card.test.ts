// The model card's Hugging Face front matter: license (id, or `other` pointing at LICENSE), base_model with its
// relation, datasets, tags, pipeline_tag and library_name.
import assert from "node:assert/strict";
import { test } from "node:test";
import { modelCardFrontMatter, type ModelCardInput } from "../../src/export/model-card.ts";

const base: ModelCardInput = { name: "m", baseModel: "qwen2.5:0.5b", architecture: "qwen2", quant: "q8_0", createdAt: "2026-01-01T00:00:00Z", files: [], chatTemplate: "", templateSource: "", runCommands: [] };

test("front matter names the HF base, the license id, the dataset and what the model is", () => {
  const fm = modelCardFrontMatter({ ...base, hfBaseModel: "Qwen/Qwen2.5-0.5B-Instruct", license: "Apache-2.0", datasetId: "me/docs-qa", peft: true });
  assert.equal(fm, [
    "---", "license: apache-2.0", "base_model:", "- \"Qwen/Qwen2.5-0.5B-Instruct\"", "base_model_relation: finetune", "datasets:", "- \"me/docs-qa\"",
    "tags:", "- docs2model", "- gguf", "- ollama", "- lora", "pipeline_tag: text-generation", "library_name: peft", "---", "",
  ].join("\n"));
});

test("a license text becomes license: other with a link to LICENSE; no HF id means no base_model", () => {
  const fm = modelCardFrontMatter({ ...base, license: "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\nLlama 3.2 Version Release Date: September 25, 2024" });
  assert.match(fm, /^license: other\nlicense_name: base-model-license\nlicense_link: LICENSE$/m);
  assert.doesNotMatch(fm, /base_model/);
  assert.match(fm, /^library_name: gguf$/m);
});
