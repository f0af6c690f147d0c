import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const BACKEND = fileURLToPath(new URL("../../src/kernels/backend.ts", import.meta.url));

/** Starts the threaded wasm backend in a child with its own TMPDIR, then ends it the way `end` says. */
function child(tmp: string, end: string) {
  const code = `const { useBackend } = await import(${JSON.stringify(BACKEND)}); await useBackend("wasm", 2);
    const { readdirSync } = await import("node:fs"); console.log(readdirSync(${JSON.stringify(tmp)}).filter((n) => n.startsWith("tfjs-wasm-")).length); ${end}`;
  // A script file, not -e: the wasm pthread workers inherit the execArgv.
  const script = join(mkdtempSync(join(tmpdir(), "wasm-script-")), "child.mts");
  writeFileSync(script, code);
  return spawnSync(process.execPath, ["--import", "tsx", script], { env: { ...process.env, TMPDIR: tmp, DOCS2MODEL_NO_NATIVE: "1" }, encoding: "utf8", timeout: 60_000 });
}
const wasmDirs = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith("tfjs-wasm-"));

test("the wasm backend's temp folder goes on exit and after a crash; one left by kill -9 goes with the next run", () => {
  const tmp = mkdtempSync(join(tmpdir(), "wasm-tmp-"));
  // Three children, each starting threaded wasm (seconds apiece): the last one is also the normal exit.
  const crash = child(tmp, `setTimeout(() => { throw new Error("boom"); }, 0);`);
  assert.notEqual(crash.status, 0);
  assert.equal(crash.stdout.trim(), "1", "the folder existed while the backend ran");
  assert.deepEqual(wasmDirs(tmp), [], "removed after an uncaught error");

  const killed = child(tmp, `process.kill(process.pid, "SIGKILL");`);
  assert.equal(killed.signal, "SIGKILL");
  assert.equal(wasmDirs(tmp).length, 1, "kill -9 leaves it");
  const next = child(tmp, "");
  assert.equal(next.status, 0, next.stderr);
  assert.equal(next.stdout.trim(), "1", "the next run removed the orphan and made its own");
  assert.deepEqual(wasmDirs(tmp), [], "removed on a normal exit");
});
