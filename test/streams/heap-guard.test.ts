import assert from "node:assert/strict";
import { getHeapStatistics } from "node:v8";
import { test } from "node:test";
import { heapCheckpoint, startHeapGuard } from "../../src/streams/heap-guard.ts";

test("forces a full GC once garbage passes the floor, and stops when told", async () => {
  const guard = startHeapGuard(1, 5);
  let keep = 0;
  for (let round = 0; round < 40 && guard.forced === 0; round++) {
    // Big strings go to old space: exactly the garbage the guard is for.
    for (let i = 0; i < 8; i++) keep += ("x".repeat(600_000) + round + i).length;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(keep > 0);
  assert.ok(guard.forced > 0, `forced ${guard.forced}, heap ${getHeapStatistics().used_heap_size}`);
  guard.stop();
  const after = guard.forced;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(guard.forced, after);
});

test("heapCheckpoint collects at once, without waiting for the timer; without a guard it does nothing", async () => {
  const guard = startHeapGuard(1, 60_000);
  let keep = 0;
  for (let i = 0; i < 8; i++) keep += ("y".repeat(600_000) + i).length;
  assert.ok(keep > 0);
  heapCheckpoint();
  assert.equal(guard.forced, 1);
  guard.stop();
  for (let i = 0; i < 8; i++) keep += ("z".repeat(600_000) + i).length;
  heapCheckpoint();
  assert.equal(guard.forced, 1);
});

test("holdYoung: the young generation keeps its size while the guard runs, a worker thread starting included", async () => {
  const { getHeapSpaceStatistics } = await import("node:v8");
  const { Worker } = await import("node:worker_threads");
  const young = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space")!.space_size;
  const keep: string[] = [];
  // Strings that survive, as a document's pages do; a worker starts half-way (Node sets V8's flags again then).
  const survive = async () => {
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 200; i++) keep.push(`${round}:${i}:`.padEnd(5000, "p"));
      if (round === 10) await new Promise((done) => new Worker("0", { eval: true }).on("exit", done));
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  const guard = startHeapGuard(1024, 5, 2, true);
  const before = young();
  try {
    await survive();
    assert.equal(young(), before, "held");
  } finally {
    guard.stop();
  }
  keep.length = 0;
  // Control: the same work without the hold grows it (unless it is already at V8's maximum, 2 × 16 MB).
  if (before < 32 * 2 ** 20) {
    await survive();
    assert.ok(young() > before, `not held: ${young()} > ${before}`);
  }
});
