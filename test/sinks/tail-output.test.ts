import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runStep } from "../../src/streams/run-step.ts";
import { readRecords } from "../../src/sinks/read-records.ts";
import { tailOutput } from "../../src/sinks/tail-output.ts";
import { z } from "zod";

test("a follower reads a step's output while it is written, in order, and ends when it completes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tail-"));
  const path = join(dir, "out.json");
  const state = { done: false, error: undefined as unknown };
  const since = Date.now();
  async function* slow() { for (let i = 0; i < 40; i++) { await new Promise((r) => setTimeout(r, 5)); yield i; } }
  const writer = runStep<number, { id: string; n: number }>({
    name: "numbers", input: slow(), stage: (n) => ({ id: `r${n}`, n }), output: { path, format: "json-array" }, commitEveryMs: 10,
  }).then(() => { state.done = true; }, (e) => { state.error = e; });
  const seenWhileRunning: boolean[] = [];
  const out: number[] = [];
  for await (const r of readRecords({ path, stream: tailOutput({ path, since, done: () => state.done, failed: () => state.error }), schema: z.object({ id: z.string(), n: z.number() }) })) {
    out.push(r.n);
    seenWhileRunning.push(!state.done);
  }
  await writer;
  assert.deepEqual(out, Array.from({ length: 40 }, (_, i) => i));
  assert.ok(seenWhileRunning.some(Boolean), "records arrived before the writer finished");
});

test("a follower stops with the writer's error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tail-"));
  const path = join(dir, "out.ndjson");
  const boom = new Error("writer failed");
  const tail = tailOutput({ path, since: Date.now(), done: () => false, failed: () => boom, pollMs: 5 });
  await assert.rejects(async () => { for await (const _ of tail) { /* nothing */ } }, /writer failed/);
});
