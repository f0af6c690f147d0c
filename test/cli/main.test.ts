// The top-level CLI: the command overview, a command's own help, and an unknown command.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

test("pipeline --help lists every step once, with the qa alias, on stdout", () => {
  const r = run("--help");
  assert.equal(r.status, 0);
  for (const name of ["chunk", "generate-qa, qa", "validate", "format", "qa-train", "finetune", "export", "pipeline", "all", "combine", "verify", "model"]) {
    assert.match(r.stdout, new RegExp(`^  ${name} `, "m"), `overview lists ${name}`);
  }
  assert.doesNotMatch(r.stdout, /^ {2}qa /m, "the alias is not listed as a command of its own");
});

test("a command's --help is that command's usage; an unknown command exits 2 with the overview on stderr", () => {
  const help = run("chunk", "--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--chunk-size/);
  const bad = run("nosuch");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /E_USAGE.*nosuch/);
  assert.match(bad.stderr, /^Commands:/m);
  assert.equal(bad.stdout, "");
});
