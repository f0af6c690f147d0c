// The compute-thread choice sees other processes' CPU use (not this process's, not the load average).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import { computeThreads, sampleOtherLoad } from "../../src/kernels/cpu-load.ts";

test("a busy process elsewhere shows up as about one busy core", { skip: process.platform !== "linux" && "needs /proc/stat" }, async () => {
  const busy = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const load = sampleOtherLoad(300)!;
    assert.ok(load >= 0.6, `other load ${load} with one spinning process`);
    assert.ok(load <= availableParallelism() + 0.01);
  } finally {
    busy.kill();
  }
});

test("computeThreads stays within 1 and the cores, and never above what is asked", () => {
  const t = computeThreads();
  assert.ok(t >= 1 && t <= availableParallelism());
  assert.equal(computeThreads(1), 1);
});
