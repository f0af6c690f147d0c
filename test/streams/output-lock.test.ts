import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { PipelineError } from "../../src/errors.ts";
import { lockOutput, lockPath } from "../../src/streams/output-lock.ts";
import { runStep } from "../../src/streams/run-step.ts";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const LOCK_MODULE = fileURLToPath(new URL("../../src/streams/output-lock.ts", import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), "output-lock-"));

/** A pid that surely belongs to no process: one that just exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

test("a second run on the same output fails with E_LOCKED naming the holder; the first completes intact", async () => {
  const out = join(tmp(), "out.ndjson");
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const slow = async function* () { yield 1; await gate; yield 2; };
  const first = runStep({ name: "one", input: slow(), stage: (n: number) => ({ n }), output: { path: out }, handleSigint: false, heapGuardMb: false });
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(
    runStep({ name: "two", input: [7, 8], stage: (n: number) => ({ n }), output: { path: out }, handleSigint: false, heapGuardMb: false }),
    (e: unknown) => e instanceof PipelineError && e.code === "E_LOCKED" && e.exitCode === 1 &&
      e.message.includes(`pid ${process.pid} on ${hostname()}`) && e.message.includes("(one, started"),
  );
  release();
  await first;
  assert.equal(readFileSync(out, "utf8"), '{"n":1}\n{"n":2}\n');
  assert.equal(existsSync(lockPath(out)), false, "released on completion");
});

test("stale locks are taken over: a dead pid on this host, or another host's stopped heartbeat", () => {
  const target = join(tmp(), "x.ndjson");
  writeFileSync(lockPath(target), JSON.stringify({ pid: deadPid(), host: hostname(), step: "chunk", startedAt: "2026-01-01T00:00:00Z" }));
  lockOutput(target, { step: "test" }).release();
  assert.equal(existsSync(lockPath(target)), false);

  writeFileSync(lockPath(target), JSON.stringify({ pid: 1, host: "elsewhere", step: "chunk", startedAt: "2026-01-01T00:00:00Z" }));
  assert.throws(() => lockOutput(target, { step: "test" }), /pid 1 on elsewhere \(chunk/, "a fresh lock from another host is held");
  const old = new Date(Date.now() - 120_000);
  utimesSync(lockPath(target), old, old);
  lockOutput(target, { step: "test" }).release();
  assert.equal(existsSync(lockPath(target)), false);
});

test("a process that exits without releasing removes its lock", () => {
  const target = join(tmp(), "y.ndjson");
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", `import(${JSON.stringify(LOCK_MODULE)}).then((m) => { m.lockOutput(${JSON.stringify(target)}, { step: "t" }); process.exit(3); })`], { encoding: "utf8" });
  assert.equal(r.status, 3, r.stderr);
  assert.equal(existsSync(lockPath(target)), false);
});

test("CLI: chunk into an output another process holds exits 1 with one line naming it, output untouched", async () => {
  const dir = tmp();
  mkdirSync(join(dir, "docs"));
  writeFileSync(join(dir, "docs", "a.md"), "Some words about locks. ".repeat(50));
  mkdirSync(join(dir, "out"));
  const target = join(dir, "out", "chunks.ndjson");
  writeFileSync(target, "previous output\n");
  const holder = spawn(process.execPath, ["--import", "tsx", "-e", `import(${JSON.stringify(LOCK_MODULE)}).then((m) => { m.lockOutput(${JSON.stringify(target)}, { step: "chunk" }); console.log("held"); process.stdin.resume(); })`], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((r) => createInterface({ input: holder.stdout! }).once("line", r));
  try {
    const r = spawnSync(process.execPath, [BIN, "chunk", "-i", join(dir, "docs"), "-o", join(dir, "out"), "-q"], { encoding: "utf8" });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^error \\[E_LOCKED\\] .*pid ${holder.pid} on `));
    assert.equal(readFileSync(target, "utf8"), "previous output\n");
  } finally {
    holder.stdin!.end();
    holder.kill();
  }
});
