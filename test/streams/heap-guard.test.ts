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
