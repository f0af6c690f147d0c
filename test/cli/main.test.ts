// The top-level CLI: the command overview, a command's own help, an unknown command, and Ctrl-C.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";

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

/** Starts the CLI, sends SIGINT once `ready()` holds (polled), and collects the exit code and stderr. */
function interrupt(args: string[], opts: { cwd?: string; env?: Record<string, string>; stdin?: string; ready: () => boolean }): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
  if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => { stderr += d; });
  child.stdout!.resume();
  const poll = setInterval(() => { if (opts.ready()) { clearInterval(poll); child.kill("SIGINT"); } }, 20);
  return new Promise((done) => child.on("close", (code, signal) => { clearInterval(poll); done({ code, signal, stderr }); }));
}

test("Ctrl-C: a command with no file output exits 130 with one line", async () => {
  // generate-qa from stdin to stdout (nothing to keep), stopped while its request hangs.
  const server = await startOpenAiServer({ script: () => ({ hang: true }) });
  try {
    const text = "Setting 1 controls part 1 of a run.";
    const chunk = { type: "chunk", id: "chunk_1", docId: "doc_1", source: "a.md", seq: 0, start: 0, end: text.length, text };
    const r = await interrupt(["qa", "--provider", "openai", "--model", "m", "--base-url", server.baseURL, "--no-cache"], {
      env: { OPENAI_API_KEY: "sk-test-0123456789abcdef" }, stdin: JSON.stringify(chunk) + "\n", ready: () => server.calls >= 1,
    });
    assert.equal(r.code, 130, `${r.signal} ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").filter((l) => !l.startsWith("LLM:")).join("\n"), "error [E_INTERRUPTED] interrupted (Ctrl-C)");
  } finally {
    await server.close();
  }
});

test("Ctrl-C in `pipeline pipeline` exits 130 with the steps' one-line message, no stack", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pipeline-sigint-"));
  mkdirSync(join(dir, "docs"));
  for (let i = 0; i < 12; i++) writeFileSync(join(dir, "docs", `d${i}.md`), `Setting ${i} controls part ${i} of a run. `.repeat(80));
  const server = await startOpenAiServer({ latencyMs: 250 });
  try {
    const qaWork = join(dir, "data", "document_training_data", "training_data.json.partial");
    const r = await interrupt(["pipeline", "-i", "docs", "--provider", "openai", "--model", "m", "--base-url", server.baseURL, "--no-cache"], {
      cwd: dir, env: { OPENAI_API_KEY: "sk-test-0123456789abcdef" }, ready: () => existsSync(qaWork) && server.calls >= 2,
    });
    assert.equal(r.code, 130, r.stderr);
    const errors = r.stderr.trim().split("\n").filter((l) => /error|Error|^\s+at /.test(l));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /^error \[E_INTERRUPTED\] stage [\w-]+: interrupted; \d+ input\(s\) are kept in .*: rerun with --resume to continue$/);
  } finally {
    await server.close();
  }
});
