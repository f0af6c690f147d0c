import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { PipelineError } from "../../src/errors.ts";
import { checkInputFile, checkOutputDir, checkOutputFile } from "../../src/streams/path-checks.ts";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const DOCS = fileURLToPath(new URL("../../data/documents", import.meta.url));
const is = (code: string, text: RegExp) => (e: unknown) => e instanceof PipelineError && e.code === code && text.test(e.message);

test("output and input paths are checked: folder for file, file for folder, file as a parent", () => {
  const dir = mkdtempSync(join(tmpdir(), "paths-"));
  writeFileSync(join(dir, "f"), "x");
  assert.throws(() => checkOutputFile(dir), is("E_OUTPUT", /is a folder, but the output file goes there/));
  assert.throws(() => checkOutputFile(join(dir, "f", "sub", "out.json")), is("E_OUTPUT", /\/f is a file, so the output file .*out\.json cannot be created under it/));
  assert.throws(() => checkOutputDir(join(dir, "f")), is("E_OUTPUT", /\/f is a file, but the output folder goes there/));
  assert.throws(() => checkInputFile(dir), is("E_INPUT", /is a folder; name the input file itself/));
  checkOutputFile(join(dir, "new", "deeper", "out.json"));
  checkOutputDir(join(dir, "new"));
  checkInputFile(join(dir, "f"));
});

/** Runs the CLI; as root, as `nobody` when asked, so that folder permissions apply. */
function cli(args: string[], opts: { asNobody?: boolean; cwd?: string } = {}) {
  const nobody = opts.asNobody && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: opts.cwd, env: { ...process.env, HOME: tmpdir() }, ...nobody });
}

function oneLine(r: ReturnType<typeof cli>, code: string, path: string): void {
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("LLM:"));
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0]!.startsWith(`error [${code}] `) && lines[0]!.includes(path), r.stderr);
}

/** As root, the unwritable-folder case runs as `nobody`, which needs to read this checkout (not so under a private temp folder). */
function nobodyCanRunTheCli(): boolean {
  if (process.getuid?.() !== 0) return true;
  const probe = `require("fs").accessSync(${JSON.stringify(BIN)}, require("fs").constants.R_OK)`;
  return spawnSync(process.execPath, ["-e", probe], { uid: 65534, gid: 65534 }).status === 0;
}

test("CLI: a file where a folder belongs, a folder where a file belongs, an unwritable folder, a folder for model info — one line each, before any input is read", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "paths-cli-"));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "file"), "x");
  mkdirSync(join(dir, "folder"));
  const missing = join(dir, "no-such-input.json"); // read first, it would fail with E_INPUT: the output is checked before
  oneLine(cli(["chunk", "-i", DOCS, "-o", join(dir, "file")]), "E_OUTPUT", join(dir, "file"));
  oneLine(cli(["format", "-i", missing, "-o", join(dir, "folder")]), "E_OUTPUT", join(dir, "folder"));
  oneLine(cli(["validate", "--provider", "extractive", "-i", missing, "-o", join(dir, "folder")]), "E_OUTPUT", join(dir, "folder"));
  // A folder is a base model when it is a Hugging Face checkpoint (issue 15); one without config.json says so.
  oneLine(cli(["model", "info", join(dir, "folder")]), "E_MODEL", join(dir, "folder"));
  assert.match(cli(["model", "info", join(dir, "folder")]).stderr, /not a Hugging Face checkpoint folder: no config\.json/);
  oneLine(cli(["validate", "--provider", "extractive", "-i", join(dir, "folder"), "-o", join(dir, "report.json")]), "E_INPUT", join(dir, "folder"));
  if (!nobodyCanRunTheCli()) {
    t.diagnostic("unwritable-folder case not run: user nobody cannot read this checkout (it lies under a private folder)");
    return;
  }
  const locked = join(dir, "read-only");
  mkdirSync(locked, { mode: 0o555 });
  chmodSync(locked, 0o555);
  oneLine(cli(["chunk", "-i", DOCS, "-o", join(locked, "out")], { asNobody: true }), "E_OUTPUT", locked);
});
