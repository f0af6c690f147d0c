// `pipeline all --model/--base`: the LLM model reaches generate-qa and validate, the base reaches qa-train and
// finetune, a bad base fails before any work, and a changed base is refused on --resume. No run trains: each one
// stops early (a backend that is not installed stops the run at finetune, a refused key at validate; a backend name
// that is not one stops it before any work).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { RecordedRequest } from "../fixtures/servers/loopback.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { guideText } from "../transforms/qa-fixtures.ts";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const KEY = "sk-test-all-flags-SECRET-0123456789";
const root = mkdtempSync(join(tmpdir(), "pipeline-all-flags-"));
after(() => rmSync(root, { recursive: true, force: true }));

const TOKENS = join("data", "document_training_data", "tokens");
/** The stop at finetune: tfjs-node needs libtensorflow, which cannot be installed here (nor on CI). */
const tfjsNodeInstalled = (() => { try { createRequire(import.meta.url).resolve("@tensorflow/tfjs-node"); return true; } catch { return false; } })();
const NO_BACKEND = /E_CONFIG.*no usable tfjs backend \(tensorflow: not installed\)/;
const STATE = join("data", "document_training_data", "pipeline_all.json");

function project(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "docs"), { recursive: true });
  writeFileSync(join(dir, "docs", "kettle.md"), "# Acme kettle\n\nACME_WARRANTY is the warranty period of two years from the date of purchase.\nACME_RETURNS is the return window of thirty days from delivery.\nACME_SUPPORT is the support line, open from nine to five on weekdays.\n");
  writeFileSync(join(dir, "docs", "lamp.txt"), "LUMO_BULB is the lamp bulb of nine watts with a warm white light.\nLUMO_CABLE is the power cable of two metres with a switch.\n");
  return dir;
}

function run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ status: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const full: Record<string, string | undefined> = { ...process.env, OLLAMA_HOST: "127.0.0.1:9", PIPELINE_CACHE: "false", FINETUNE_SEQ_LEN: "128", ...env };
    for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "PIPELINE_LLM_PROVIDER", "PIPELINE_LLM_MODEL", "FINETUNE_MODEL_NAME"]) if (!(k in env)) delete full[k];
    const child = spawn(process.execPath, [BIN, "all", ...args], { cwd, env: full, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
    child.on("error", fail);
    child.on("close", (status) => done({ status, stderr }));
  });
}

test("--base tiny runs like the default; a changed --base is refused on --resume", { skip: tfjsNodeInstalled && "@tensorflow/tfjs-node is installed: the run would train instead of stopping at finetune" }, async () => {
  const dir = project("tiny");
  // A backend that is not installed stops the run at finetune, after qa-train has tokenized for the base: no training here.
  const env = { FINETUNE_BACKEND: "tfjs-node" };
  const first = await run(["-i", "docs", "--valid-split", "0.5", "--base", "tiny"], dir, env);
  assert.equal(first.status, 2, first.stderr.slice(-2000));
  assert.match(first.stderr, /pipeline all: .*base tiny/);
  assert.match(first.stderr, /qa-train: .*\(model tiny,/);
  assert.match(first.stderr, NO_BACKEND);
  assert.equal(JSON.parse(readFileSync(join(dir, TOKENS, "tokens.json"), "utf8")).modelName, "tiny");
  assert.deepEqual(JSON.parse(readFileSync(join(dir, STATE), "utf8")).done, ["chunk", "generate-qa", "validate", "format", "qa-train"]);

  // No --base is the same settings as --base tiny: resuming is allowed, and stops at the same place.
  const same = await run(["-i", "docs", "--valid-split", "0.5", "--resume"], dir, env);
  assert.equal(same.status, 2, same.stderr.slice(-2000));
  assert.equal(same.stderr.match(/done in an earlier run, skipped/g)?.length, 5);
  assert.match(same.stderr, NO_BACKEND);

  // Another base (a real GGUF: the one qa-train just wrote) is another run: --resume refuses it before any step.
  const other = join(dir, TOKENS, "base.gguf");
  assert.ok(existsSync(other));
  const changed = await run(["-i", "docs", "--valid-split", "0.5", "--resume", "--base", other], dir, env);
  assert.equal(changed.status, 1, changed.stderr.slice(-2000));
  assert.match(changed.stderr, /E_RESUME.*settings changed/);
  assert.doesNotMatch(changed.stderr, /\[1\/7\]/);

  // That GGUF as --base of a fresh run reaches qa-train and finetune over FINETUNE_MODEL_NAME=tiny: qa-train
  // tokenizes for it, and finetune (told the same base) accepts those tokens and gets as far as its backend.
  const dir2 = project("gguf");
  const gguf = await run(["-i", "docs", "--valid-split", "0.5", "--base", other], dir2, { ...env, FINETUNE_MODEL_NAME: "tiny" });
  assert.equal(gguf.status, 2, gguf.stderr.slice(-2000));
  assert.match(gguf.stderr, new RegExp(`qa-train: .*\\(model ${other.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")},`));
  assert.equal(JSON.parse(readFileSync(join(dir2, TOKENS, "tokens.json"), "utf8")).modelName, other);
  assert.match(gguf.stderr, NO_BACKEND);
});

test("a FINETUNE_BACKEND that is no backend fails before any work, naming the variable", async () => {
  const dir = project("typo-backend");
  const r = await run(["-i", "docs"], dir, { FINETUNE_BACKEND: "wsam" });
  assert.equal(r.status, 2, r.stderr.slice(-2000));
  assert.match(r.stderr, /E_CONFIG.*unknown backend "wsam" \(--backend or FINETUNE_BACKEND\)/);
  assert.doesNotMatch(r.stderr, /\[1\/7\]/);
  assert.ok(!existsSync(join(dir, "data")), "nothing written");
});

test("--base /nonexistent.gguf fails before any work, naming the path and the flag", async () => {
  const dir = project("missing");
  const r = await run(["-i", "docs", "--base", "/nonexistent.gguf"], dir);
  assert.equal(r.status, 1, r.stderr.slice(-2000));
  assert.match(r.stderr, /E_MODEL.*\/nonexistent\.gguf.*model file not found; check --base/);
  assert.doesNotMatch(r.stderr, /\[1\/7\]/);
  assert.ok(!existsSync(join(dir, "data")), "nothing written: no chunks, no state file");
});

test("--model reaches generate-qa and validate as their --model", async () => {
  const dir = project("model");
  // Q&A requests get a pair quoting the chunk; the first judge request gets a 401, which stops the run at validate.
  const server = await startOpenAiServer({
    apiKey: KEY,
    script: (_call, req: RecordedRequest) => {
      const prompt = req.messages.map((m) => m.content).join("\n");
      if (prompt.includes("Score the question-answer pair")) return { status: 401, message: "stop here" };
      const quote = /([A-Z_]+ is the [^.]+)\./.exec(prompt)?.[1] ?? "is the";
      return { reply: JSON.stringify({ pairs: [{ question: `What is ${quote.split(" ")[0]}?`, answer: `${quote}.`, evidence: quote }] }) };
    },
  });
  let r: { status: number | null; stderr: string };
  try {
    r = await run(["-i", "docs", "--provider", "openai", "--model", "gpt-from-flag"], dir, {
      OPENAI_API_KEY: KEY, PIPELINE_LLM_BASE_URL: server.baseURL, PIPELINE_LLM_MODEL: "gpt-from-env",
    });
  } finally {
    await server.close();
  }
  assert.equal(r.status, 1, r.stderr.slice(-2000));
  assert.match(r.stderr, /validate stopped the run/);
  const chats = server.requests.filter((q) => q.method === "POST");
  const judged = chats.filter((q) => q.messages.some((m) => m.content.includes("Score the question-answer pair")));
  assert.ok(chats.length > judged.length, "generate-qa called the server");
  assert.ok(judged.length >= 1, "validate called the server");
  // The flag wins over PIPELINE_LLM_MODEL in both steps.
  assert.deepEqual([...new Set(chats.map((q) => q.model))], ["gpt-from-flag"]);
  const qa = JSON.parse(readFileSync(join(dir, "data", "document_training_data", "training_data.json"), "utf8")) as Array<{ model: string }>;
  assert.ok(qa.length > 0 && qa.every((p) => p.model === "gpt-from-flag"));
  assert.doesNotMatch(r.stderr, new RegExp(KEY));
});
