// `pipeline model info|convert` and the converter under them.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { convertGguf } from "../../src/gguf/convert.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { createTinyBase } from "../../src/model/tiny.ts";
import { trainingText } from "../fixtures/gguf/text.ts";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "conv-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const src = join(dir, "tiny-f32.gguf");
await createTinyBase(src, trainingText(2, 2000), { config: { vocab: 300, dim: 64, layers: 1, heads: 2, kvHeads: 2, ffn: 96 } });

test("convert f32 → f16 / q8_0: matrices re-encoded, norms stay f32, metadata kept, values within bound", async () => {
  const a = await openGguf(src);
  for (const [type, tol] of [["F16", 1e-3], ["Q8_0", 0.02]] as const) {
    const out = join(dir, `tiny-${type}.gguf`);
    const r = await convertGguf(src, out, type);
    assert.equal(r.converted, 9);
    assert.equal(r.kept, 3);
    const b = await openGguf(out);
    assert.equal(b.tensor("blk.0.ffn_down.weight")?.type, type);
    assert.equal(b.tensor("output_norm.weight")?.type, "F32");
    assert.equal(b.meta("general.file_type"), type === "F16" ? 1 : 7);
    for (const [k, v] of a.metadata) if (k !== "general.file_type") assert.deepEqual(b.metadata.get(k), v, k);
    const x = await a.readTensorF32("blk.0.attn_q.weight"), y = await b.readTensorF32("blk.0.attn_q.weight");
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= tol * 0.1, `${type} [${i}]`);
    await b.close();
  }
  await a.close();
});

test("CLI: model info shows architecture, tensors and chat template; convert writes; bad input exits 1/2", async () => {
  const info = await run(process.execPath, [bin, "model", "info", src]);
  assert.match(info.stdout, /architecture\s+llama/);
  assert.match(info.stdout, /blk\.0\.attn_q\.weight\s+F32\s+\[64, 64\]/);
  assert.match(info.stdout, /attention\.layer_norm_rms_epsilon\s+0\.00001\b/);
  assert.match(info.stdout, /chat template\n\s+\{% for message in messages %\}/);
  const out = join(dir, "cli-q8.gguf");
  const conv = await run(process.execPath, [bin, "model", "convert", src, out, "--type", "q8_0"]);
  assert.match(conv.stderr, /9 tensors converted to Q8_0/);
  const json = JSON.parse((await run(process.execPath, [bin, "model", "info", out, "--json"])).stdout);
  assert.deepEqual(json.tensorTypes, { Q8_0: 9, F32: 3 });
  await assert.rejects(run(process.execPath, [bin, "model", "convert", src, out, "--type", "q5"]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /unknown --type "q5"; use one of f32, f16/);
    return true;
  });
  await assert.rejects(run(process.execPath, [bin, "model", "info", join(dir, "missing.gguf")]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /error \[E_GGUF\] .*missing\.gguf: cannot open model file/);
    return true;
  });
});
