// The PEFT adapter we write beside adapter.gguf, read back by code written here (not our writer's reader): the
// safetensors bytes parsed by hand, adapter_config.json as PEFT reads it, the LoRA applied to the base's weights
// in Hugging Face layout (q/k rows put back in HF order for llama) — equal to our merged model's weights.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { mergeToGguf } from "../../src/export/merge.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { useBackend } from "../../src/kernels/backend.ts";
import { loadGgufModel } from "../../src/model/load.ts";
import { Lora } from "../../src/train/lora.ts";
import { writeAdapter } from "../../src/train/trainer-run.ts";
import { writeTestModel } from "../model/fixture.ts";

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** safetensors by the spec: u64 LE header length, JSON header, data; F32 only here. */
function readSafetensorsByHand(path: string): Map<string, { shape: number[]; data: Float32Array }> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    assert.equal(e.dtype, "F32");
    const bytes = buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
    const data = new Float32Array(bytes.length / 4);
    for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(i * 4);
    out.set(name, { shape: e.shape, data });
  }
  return out;
}

/** The converter's q/k reordering for llama, as convert_hf_to_gguf.py's permute() does it, inverted: GGUF → HF rows. */
function toHfRows(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const d = rows / heads; // rows per head
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    const h = Math.floor(r / d), within = r % d;
    const j = Math.floor(within / 2), s = within % 2; // GGUF row order inside a head: [j][s]
    const hfRow = h * d + s * (d / 2) + j; // HF: [s][j]
    for (let c = 0; c < cols; c++) out[hfRow * cols + c] = w[r * cols + c]!;
  }
  return out;
}

const HF = { attn_q: "self_attn.q_proj", attn_k: "self_attn.k_proj", attn_v: "self_attn.v_proj", attn_output: "self_attn.o_proj", ffn_gate: "mlp.gate_proj", ffn_up: "mlp.up_proj", ffn_down: "mlp.down_proj" } as const;

for (const arch of ["llama", "qwen2"] as const) {
  test(`${arch}: PEFT adapter_model.safetensors + adapter_config.json reproduce our merged weights`, async () => {
    await useBackend("cpu");
    const base = await writeTestModel(arch, { std: 0.1 });
    const { config } = await loadGgufModel(base.path);
    const targets = ["q", "k", "v", "o", "gate", "up", "down"];
    const lora = new Lora(config, { rank: 4, alpha: 8, dropout: 0, targets, seed: 3 });
    let seed = 70;
    for (const p of lora.pairs.values()) p.b.assign(tf.randomNormal(p.b.shape, 0, 0.3, "float32", seed++));
    const dir = mkdtempSync(join(tmpdir(), "d2m-peft-"));
    dirs.push(dir);
    await writeAdapter(join(dir, "adapter.gguf"), lora, config, base.path, `test/${arch}`);

    const cfg = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
    assert.equal(cfg.peft_type, "LORA");
    assert.equal(cfg.task_type, "CAUSAL_LM");
    assert.equal(cfg.r, 4);
    assert.equal(cfg.lora_alpha, 8);
    assert.equal(cfg.fan_in_fan_out, false);
    assert.equal(cfg.base_model_name_or_path, `test/${arch}`);
    assert.deepEqual(cfg.target_modules, ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
    const tensors = readSafetensorsByHand(join(dir, "adapter_model.safetensors"));
    assert.equal(tensors.size, config.layers * targets.length * 2, "an A and a B per adapted module");

    const merged = join(dir, "merged.gguf");
    await mergeToGguf({ basePath: base.path, adapterPath: join(dir, "adapter.gguf"), outPath: merged, quant: "f32" });
    const b = await openGguf(base.path), m = await openGguf(merged);
    try {
      const scale = cfg.lora_alpha / cfg.r;
      let worst = 0;
      for (let layer = 0; layer < config.layers; layer++) {
        for (const [gguf, module] of Object.entries(HF)) {
          const name = `blk.${layer}.${gguf}.weight`;
          const [cols, rows] = b.tensor(name)!.dims as [number, number]; // GGUF dims [in, out]: row-major [out][in]
          const A = tensors.get(`base_model.model.model.layers.${layer}.${module}.lora_A.weight`)!;
          const B = tensors.get(`base_model.model.model.layers.${layer}.${module}.lora_B.weight`)!;
          assert.deepEqual(A.shape, [4, cols], `${module} lora_A is [r, in]`);
          assert.deepEqual(B.shape, [rows, 4], `${module} lora_B is [out, r]`);
          const heads = gguf === "attn_q" ? config.heads : config.kvHeads;
          const permuted = arch === "llama" && (gguf === "attn_q" || gguf === "attn_k");
          const hf = (w: Float32Array) => (permuted ? toHfRows(w, rows, cols, heads) : w);
          // The checkpoint's weight in HF layout, plus PEFT's delta: W + scale · B A.
          const w = hf(await b.readTensorF32(name));
          const want = hf(await m.readTensorF32(name));
          for (let o = 0; o < rows; o++) {
            for (let i = 0; i < cols; i++) {
              let delta = 0;
              for (let k = 0; k < 4; k++) delta += B.data[o * 4 + k]! * A.data[k * cols + i]!;
              worst = Math.max(worst, Math.abs(w[o * cols + i]! + scale * delta - want[o * cols + i]!));
            }
          }
        }
      }
      assert.ok(worst < 1e-5, `largest difference ${worst}`);
    } finally {
      await b.close(); await m.close();
    }
  });
}
