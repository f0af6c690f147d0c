// `pipeline all` offline on a tiny document set: the exported GGUF loads in llama.cpp (node-llama-cpp) and
// answers a training question with its trained answer; a second run with --resume skips every step.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openLlamaRunner } from "../../src/llama-cpp/runner.ts";
import { startLoopbackOllama } from "../ollama/loopback-ollama.ts";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "pipeline-all-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Definitions the extractive generator turns into "What is X?" pairs; the second file is the held-out document.
mkdirSync(join(dir, "docs"));
writeFileSync(join(dir, "docs", "kettle.md"), "# Acme kettle\n\nACME_WARRANTY is the warranty period of two years from the date of purchase.\nACME_RETURNS is the return window of thirty days from delivery.\nACME_SUPPORT is the support line, open from nine to five on weekdays.\n");
writeFileSync(join(dir, "docs", "lamp.txt"), "LUMO_BULB is the lamp bulb of nine watts with a warm white light.\nLUMO_CABLE is the power cable of two metres with a switch.\n");

function envWith(extraEnv: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, OLLAMA_HOST: "127.0.0.1:9", FINETUNE_SEQ_LEN: "128", FINETUNE_EPOCHS: "40", ...extraEnv };
  for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "PIPELINE_LLM_PROVIDER", "FINETUNE_MODEL_NAME"]) delete env[k];
  return env;
}

function pipeline(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: dir, env: envWith(extraEnv), encoding: "utf8", input: "", timeout: 600_000 });
}

/** Without blocking this process: the loopback Ollama server below must keep answering. */
function pipelineAsync(args: string[], extraEnv: Record<string, string> = {}): Promise<{ status: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env: envWith(extraEnv), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
    child.on("close", (status) => done({ status, stderr }));
  });
}

test("pipeline all offline: a GGUF that llama.cpp loads and that answers a training question as trained", async () => {
  const ollama = await startLoopbackOllama();
  let run: { status: number | null; stderr: string };
  try {
    run = await pipelineAsync(["all", "-i", "docs", "--valid-split", "0.5", "--for", "axolotl"], { OLLAMA_HOST: ollama.baseUrl });
  } finally {
    await ollama.close();
  }
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  assert.match(run.stderr, /PIPELINE ALL DONE/);
  // --for: the same pairs in axolotl's layout beside our own run, with its config.
  const forDir = join(dir, "data", "document_training_data", "for-axolotl");
  for (const f of ["train.jsonl", "axolotl.yaml", "axolotl_multigpu.yaml", "ds_zero2.json"]) assert.ok(existsSync(join(forDir, f)), f);
  assert.match(readFileSync(join(forDir, "axolotl.yaml"), "utf8"), /type: chat_template/);
  assert.match(run.stderr, /Created in Ollama; run it:\n\s+ollama run docs-tiny/);
  const out = join(dir, "merged_models", "docs-tiny");
  for (const f of ["model.gguf", "Modelfile", "README.md", "verify.json", "eval.json"]) assert.ok(existsSync(join(out, f)), f);
  assert.equal(JSON.parse(readFileSync(join(out, "verify.json"), "utf8")).ok, true);
  // The model Ollama received is the exported file, byte for byte, with the Modelfile's template and stops.
  const digest = `sha256:${createHash("sha256").update(readFileSync(join(out, "model.gguf"))).digest("hex")}`;
  assert.deepEqual(ollama.creates.map((c) => [c.model, c.files]), [["docs-tiny", { "model.gguf": digest }]]);
  assert.ok(ollama.blobs.has(digest));
  assert.match(readFileSync(join(out, "Modelfile"), "utf8"), new RegExp(`PARAMETER stop "${ollama.creates[0]!.parameters.stop.at(-1).replace(/[|]/g, "\\|")}"`));

  const pairs = readFileSync(join(dir, "data", "document_training_data", "training_data_final.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { instruction: string; output: string });
  assert.equal(pairs.length, 3);
  const model = await openLlamaRunner(join(out, "model.gguf"));
  const base = await openLlamaRunner(join(dir, "data", "document_training_data", "tokens", "base.gguf"));
  try {
    let exact = 0;
    for (const p of pairs) {
      const answer = (await model.generate([{ role: "user", content: p.instruction }], { maxTokens: 64 })).text;
      if (answer === p.output) {
        exact++;
        // The untrained base does not say it: the answer was learned.
        assert.notEqual((await base.generate([{ role: "user", content: p.instruction }], { maxTokens: 64 })).text, p.output);
      }
    }
    // qa-train may hold one pair out for its own validation loss; the pairs it trained on come back word for word.
    assert.ok(exact >= 1, `${exact}/3 training questions answered with the trained answer`);
  } finally {
    await model.dispose();
    await base.dispose();
  }

  // `pipeline verify` on the export: the same checks, JSON on stdout; a directory without a model is refused.
  const verified = pipeline(["verify", "merged_models/docs-tiny"]);
  assert.equal(verified.status, 0, verified.stderr.slice(-2000));
  assert.equal(JSON.parse(verified.stdout).ok, true);
  const missing = pipeline(["verify", "docs"]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /E_INPUT.*model\.gguf not found; run `pipeline export` first/);

  const again = pipeline(["all", "-i", "docs", "--no-ollama", "--valid-split", "0.5", "--resume"]);
  assert.equal(again.status, 0, again.stderr.slice(-2000));
  assert.equal(again.stderr.match(/done in an earlier run, skipped/g)?.length, 7);
  const changed = pipeline(["all", "-i", "docs", "--no-ollama", "--valid-split", "0.5", "--resume"], { FINETUNE_EPOCHS: "41" });
  assert.equal(changed.status, 1);
  assert.match(changed.stderr, /E_RESUME.*settings changed/);
});
