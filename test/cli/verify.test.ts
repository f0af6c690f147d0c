// `pipeline verify` on an adapter export whose base came from the Ollama store: the base is the one export
// recorded in export.json (a blob path), not Modelfile.adapter's FROM (an Ollama model name), so the
// base + adapter comparison runs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { exportModel } from "../../src/export/export.ts";
import { writeTinyLoraFixture } from "../export/export-fixture.ts";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "pipeline-verify-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("pipeline verify compares merged with base + adapter for a base from the Ollama store", async () => {
  const ft = join(root, "ft");
  const blobs = join(root, "ollama-models", "blobs");
  mkdirSync(ft, { recursive: true });
  mkdirSync(blobs, { recursive: true });
  const f = await writeTinyLoraFixture(ft, { seed: 13 });
  const blob = join(blobs, "sha256-" + "cd".repeat(32));
  renameSync(f.base, blob);
  writeFileSync(join(ft, "training_report.json"), JSON.stringify({ model: { name: "tinyllama:latest", base: blob, arch: "llama", tiny: false } }));
  const r = await exportModel({ modelPath: ft, name: "from-store", outputDir: join(root, "out"), quant: "f32", ollamaBaseUrl: "http://127.0.0.1:9", install: "never", verify: false, eval: false });
  assert.match(readFileSync(r.modelfileAdapter!, "utf8"), /\nFROM tinyllama:latest\n/);
  assert.equal(JSON.parse(readFileSync(join(r.dir, "export.json"), "utf8")).basePath, blob);

  const v = spawnSync(process.execPath, [BIN, "verify", r.dir, "--max-tokens", "8"], { cwd: root, encoding: "utf8", env: { ...process.env, FINETUNE_BACKEND: "cpu" } });
  const checks = (JSON.parse(v.stdout) as { checks: Array<{ name: string; ok: boolean; detail: string }> }).checks;
  const merged = checks.find((c) => /base \+ adapter/.test(c.name));
  assert.ok(merged, `no base + adapter check: ${v.stderr}`);
  assert.equal(merged.ok, true, merged.detail);
});
