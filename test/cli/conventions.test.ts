// CLI conventions (issue 16 § 4), each against the real CLI in a child process: no escape codes unless a
// terminal, NO_COLOR / FORCE_COLOR, unknown flags → exit 2 naming the nearest, --version anywhere, Ctrl-C → 130,
// `-` for stdin in every reading command, --json summaries, shell completion.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { guideText } from "../transforms/qa-fixtures.ts";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
// CI/TEST would make citty drop colour by itself; the tests set colour through NO_COLOR/FORCE_COLOR only.
const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, PIPELINE_CACHE: "", OPENAI_API_KEY: "", OLLAMA_HOST: "http://127.0.0.1:9" };
  for (const k of ["CI", "TEST", "NO_COLOR", "FORCE_COLOR", "TERM"]) delete env[k];
  return env;
};
const run = (args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", input: opts.input, cwd: opts.cwd, env: { ...baseEnv(), ...opts.env }, stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
/** Runs the CLI under a pseudo-terminal (util-linux `script`), so stdout and stderr are TTYs. */
const inTty = (args: string[], env: Record<string, string> = {}) =>
  spawnSync("script", ["-qec", [process.execPath, bin, ...args].map((a) => `'${a}'`).join(" "), "/dev/null"], { encoding: "utf8", env: { ...baseEnv(), TERM: "xterm", ...env }, stdio: ["ignore", "pipe", "pipe"] });
const ESC = /\x1b\[/;

test("escape codes only on a terminal; NO_COLOR (any non-empty value) and FORCE_COLOR are honoured", () => {
  // An unknown command's error (checked again below), and two commands' usage text.
  const bad = run(["chunks"]);
  for (const [args, r] of [[["chunks"], bad], [["chunk", "--help"], run(["chunk", "--help"])], [["format", "--help"], run(["format", "--help"])]] as const) {
    assert.doesNotMatch(r.stdout + r.stderr, ESC, `piped: ${args.join(" ")}`);
  }
  // citty's usage text is where colour comes from (bold headings, underlined names).
  const tty = inTty(["chunk", "--help"]);
  assert.match(tty.stdout, /--chunk-size/, tty.stdout + tty.stderr);
  assert.match(tty.stdout, ESC, "a terminal gets colour");
  for (const value of ["1", "true", "yes"]) assert.doesNotMatch(inTty(["chunk", "--help"], { NO_COLOR: value }).stdout, ESC, `NO_COLOR=${value}`);
  assert.match(run(["chunk", "--help"], { env: { FORCE_COLOR: "1" } }).stdout, ESC, "FORCE_COLOR colours a pipe");
  assert.match(run(["chunk", "--help"], { env: { FORCE_COLOR: "1", NO_COLOR: "1" } }).stdout, ESC, "FORCE_COLOR wins over NO_COLOR (Node's rule)");
  assert.doesNotMatch(inTty(["chunk", "--help"], { FORCE_COLOR: "0" }).stdout, ESC, "FORCE_COLOR=0 turns it off");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^error \[E_USAGE\] unknown command chunks; did you mean chunk\?\n/);
});

test("an unknown flag exits 2 naming it and the nearest known one, before any work", () => {
  const dir = mkdtempSync(join(tmpdir(), "conv-flags-"));
  const r = run(["chunk", "--chunk-sise", "100", "-o", dir], { input: "text\n" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option --chunk-sise for `pipeline chunk`; did you mean --chunk-size\?/);
  assert.equal(r.stdout, "");
  const q = run(["validate", "--treshold", "8"]);
  assert.equal(q.status, 2);
  assert.match(q.stderr, /--treshold.*did you mean --threshold\?/);
  assert.match(run(["model", "info", "--jsn", "x.gguf"]).stderr, /unknown option --jsn for `pipeline model info`; did you mean --json\?/);
  assert.match(run(["format", "-Z"]).stderr, /unknown option -Z/);
  assert.equal(run(["--chunk-size", "3", "chunk"]).status, 2, "an option before the command");
  // Known flags, negations, `=` values and a value that looks like a flag (`-o -`) all pass the check.
  const ok = run(["chunk", "--chunk-size=400", "--no-resume", "-o", dir], { input: "Some text.\n" });
  assert.equal(ok.status, 0, ok.stderr);
});

test("--version anywhere prints the version and exits 0", () => {
  for (const args of [["--version"], ["chunk", "--version"], ["format", "-i", "x", "--version"], ["model", "info", "--version"]]) {
    const r = run(args);
    assert.equal(r.status, 0, args.join(" "));
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/, args.join(" "));
  }
});

test("a reader that stops early (`pipeline chunk … | head -1`) ends the command quietly with exit 0", async () => {
  // About 1 MB of chunks: far more than a pipe holds, so writes go on after the reader has closed its end.
  const text = Array.from({ length: 4000 }, (_, i) => `Paragraph ${i} says that setting ${i} controls part ${i} of a run.\n\n`).join("");
  const child = spawn(process.execPath, [bin, "chunk", "--chunk-size", "200", "--chunk-overlap", "0"], { env: baseEnv(), stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  child.stdin.end(text);
  const first = await new Promise<string>((resolve) => child.stdout.once("data", (d) => resolve(String(d))));
  child.stdout.destroy(); // as `head -1` does after its line
  const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  assert.match(first, /^\{"type":"chunk"/);
  assert.equal(status, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|error/, "no stack trace, no error line");
});

test("Ctrl-C exits 130 (qa reading `-i -`, stopped while its request hangs)", async () => {
  const server = await startOpenAiServer({ script: () => ({ hang: true }) });
  try {
    const text = "Setting 1 controls part 1 of a run.";
    const chunk = { type: "chunk", id: "chunk_1", docId: "doc_1", source: "a.md", seq: 0, start: 0, end: text.length, text };
    const child = spawn(process.execPath, [bin, "qa", "-i", "-", "--provider", "openai", "--model", "m", "--base-url", server.baseURL, "--no-cache"], {
      env: { ...baseEnv(), OPENAI_API_KEY: "sk-test-0123456789abcdef" }, stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin!.end(JSON.stringify(chunk) + "\n");
    child.stdout!.resume();
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => { stderr += d; });
    const poll = setInterval(() => { if (server.calls >= 1) { clearInterval(poll); child.kill("SIGINT"); } }, 20);
    const code = await new Promise<number | null>((done) => child.on("close", (c) => { clearInterval(poll); done(c); }));
    assert.equal(code, 130, stderr);
  } finally {
    await server.close();
  }
});

test("`-` reads stdin in chunk, qa, validate, format, combine and qa-train; --json prints one summary object", () => {
  const dir = mkdtempSync(join(tmpdir(), "conv-stdin-"));
  const env = { PIPELINE_CHUNKS_DIR: join(dir, "chunks"), PIPELINE_QA_DIR: join(dir, "qa") };
  const chunks = run(["chunk", "-", "--chunk-size", "600"], { input: guideText(), env });
  assert.equal(chunks.status, 0, chunks.stderr);
  assert.ok(chunks.stdout.split("\n").filter(Boolean).every((l) => JSON.parse(l).type === "chunk"));
  const chunkJson = run(["chunk", "-i", "-", "--chunk-size", "600", "--json", "-o", join(dir, "c2")], { input: guideText(), env });
  assert.equal(chunkJson.status, 0, chunkJson.stderr);
  const cj = JSON.parse(chunkJson.stdout);
  assert.equal(cj.chunk.chunks, chunks.stdout.trim().split("\n").length, "one JSON object with the counts");

  const qa = run(["qa", "-i", "-", "--provider", "extractive"], { input: chunks.stdout, env });
  assert.equal(qa.status, 0, qa.stderr);
  const qaJson = run(["qa", "-i", "-", "--provider", "extractive", "--json", "-o", join(dir, "qa2")], { input: chunks.stdout, env });
  assert.equal(JSON.parse(qaJson.stdout)["generate-qa"].records, qa.stdout.trim().split("\n").length);

  const scored = run(["validate", "-i", "-", "--provider", "extractive"], { input: qa.stdout, env });
  assert.equal(scored.status, 0, scored.stderr);
  const vj = run(["validate", "-i", "-", "--provider", "extractive", "--json", "-o", join(dir, "report.json")], { input: qa.stdout, env });
  assert.equal(vj.status, 0, vj.stderr);
  const v = JSON.parse(vj.stdout);
  assert.equal(v.validate.total, qa.stdout.trim().split("\n").length);
  assert.match(vj.stderr, /VALIDATION SUMMARY/, "the text summary moves to stderr");

  const train = join(dir, "final", "train.jsonl");
  const fj = run(["format", "-i", "-", "-o", train, "--threshold", "0", "--json"], { input: scored.stdout, env });
  assert.equal(fj.status, 0, fj.stderr);
  const f = JSON.parse(fj.stdout);
  assert.equal(f.format.kept.train, readFileSync(train, "utf8").trim().split("\n").length);
  assert.equal(f.format.files.train, train);

  const cbj = run(["combine", "-i", "-", "-o", join(dir, "combined.json"), "--json"], { input: qa.stdout, env });
  assert.equal(cbj.status, 0, cbj.stderr);
  assert.equal(JSON.parse(cbj.stdout).combine.records, qa.stdout.trim().split("\n").length);

  const tj = run(["qa-train", "-i", "-", "-o", join(dir, "tokens"), "--json"], { input: readFileSync(train, "utf8"), env });
  assert.equal(tj.status, 0, tj.stderr);
  const t = JSON.parse(tj.stdout)["qa-train"];
  assert.equal(t.train.examples + t.valid.examples + t.train.dropped + t.valid.dropped, f.format.kept.train, "every example read from stdin");
  assert.equal(t.input, join(dir, "tokens", "stdin.jsonl"));
});

test("--json on a multi-step run: `pipeline pipeline` prints one object with its summary, data stays in files", () => {
  const dir = mkdtempSync(join(tmpdir(), "conv-json-"));
  mkdirSync(join(dir, "docs"));
  writeFileSync(join(dir, "docs", "guide.md"), guideText());
  const r = run(["pipeline", "-i", "docs", "--provider", "extractive", "--json"], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split("\n").length, 1, "one line: the summary object");
  const j = JSON.parse(r.stdout);
  assert.ok(j.pipeline.chunks > 0 && j.pipeline.qaRecords > 0, r.stdout);
  assert.equal(j.pipeline.validation.total, j.pipeline.qaRecords);
  assert.ok(existsSync(j.pipeline.outputs.final));
  assert.match(r.stderr, /VALIDATION SUMMARY/);
});

test("pipeline completion bash|zsh|fish: scripts that name every command and its flags", () => {
  const bash = run(["completion", "bash"]);
  assert.equal(bash.status, 0, bash.stderr);
  const complete = (line: string) => spawnSync("bash", ["-c", `${bash.stdout}\nCOMP_WORDS=(${line}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _pipeline; echo "\${COMPREPLY[@]}"`], { encoding: "utf8" }).stdout.trim().split(" ");
  assert.deepEqual(complete("pipeline ch"), ["chunk"]);
  assert.deepEqual(complete("pipeline chunk --chunk-s"), ["--chunk-size"]);
  assert.deepEqual(complete("pipeline model in"), ["info"]);
  assert.ok(complete("pipeline format --").includes("--json"));
  const zsh = run(["completion", "zsh"]);
  assert.match(zsh.stdout, /^#compdef pipeline\n/);
  assert.match(zsh.stdout, /^ {4}chunk\) opts=\(.*'--chunk-size:/m);
  const fish = run(["completion", "fish"]);
  assert.match(fish.stdout, /complete -c pipeline -n __fish_use_subcommand -a qa-train /);
  assert.match(fish.stdout, /complete -c pipeline -n '__fish_seen_subcommand_from format' -F -l template /);
  const bad = run(["completion", "tcsh"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown shell "tcsh"; use bash, zsh or fish/);
});
