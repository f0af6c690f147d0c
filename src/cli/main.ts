// The `pipeline` CLI: commands are data, one file each, loaded only when used so --help is instant.
// color-env first: it must run before citty's module body reads the environment.
import { plain } from "./color-env.ts";
import { defineCommand, runCommand, runMain, type CommandDef } from "citty";
import { PipelineError, redact } from "../errors.ts";
import { takeJsonSummary } from "../log.ts";
import { holdYoungGenerationWhileLoading } from "../streams/heap-guard.ts";
import { stopsCleanlyOnInterrupt } from "../streams/interrupt.ts";
import { completionCommand } from "./completion.ts";
import { checkFlags, leafCommand, nearestFlag } from "./flag-check.ts";

export const VERSION = "0.1.0";

type Lazy = () => Promise<CommandDef<any>>;
const releaseYoung = holdYoungGenerationWhileLoading();
const lazy = (load: () => Promise<{ default: CommandDef<any> }>): Lazy => () => load().then((m) => { releaseYoung(); return m.default; });

/** Registered only once they work end to end. The summary is what `pipeline --help` lists, without loading anything. */
const COMMANDS: Array<{ name: string; alias?: string; summary: string; load: Lazy }> = [
  { name: "chunk", summary: "1. split documents (txt, md, html, pdf, docx, NDJSON) into chunks", load: lazy(() => import("./chunk.ts")) },
  { name: "generate-qa", alias: "qa", summary: "2. ask an LLM (or the offline extractive mode) for Q&A pairs per chunk", load: lazy(() => import("./generate-qa.ts")) },
  { name: "validate", summary: "3. score every pair and print the VALIDATION SUMMARY (drops nothing)", load: lazy(() => import("./validate.ts")) },
  { name: "format", summary: "4. keep pairs ≥ --threshold and write training files (alpaca, chatml, sharegpt, openai)", load: lazy(() => import("./format.ts")) },
  { name: "review", summary: "review, edit and approve pairs in a local web page before format", load: lazy(() => import("./review.ts")) },
  { name: "qa-train", summary: "5. render pairs with the base model's chat template into packed training tokens", load: lazy(() => import("./qa-train.ts")) },
  { name: "finetune", summary: "6. LoRA fine-tuning (or `tiny` from scratch) with TensorFlow.js", load: lazy(() => import("./finetune.ts")) },
  { name: "export", summary: "7. merged GGUF + adapter GGUF + Ollama Modelfile, verified and evaluated", load: lazy(() => import("./export.ts")) },
  { name: "pipeline", summary: "steps 1-4 in one streaming run", load: lazy(() => import("./pipeline.ts")) },
  { name: "all", summary: "steps 1-7 in one run; offline by default", load: lazy(() => import("./all.ts")) },
  { name: "batches", summary: "list, check or cancel the vendor batches of a --batch run (list|status|cancel)", load: lazy(() => import("./batches.ts")) },
  { name: "combine", summary: "merge Q&A files (JSON arrays and NDJSON) into one", load: lazy(() => import("./combine.ts")) },
  { name: "verify", summary: "check an exported model in llama.cpp (loads, stops, matches our model)", load: lazy(() => import("./verify.ts")) },
  { name: "model", summary: "inspect or convert GGUF files, list converted checkpoints (info, convert, cache)", load: lazy(() => import("./model.ts")) },
  { name: "completion", summary: "print a shell completion script: pipeline completion bash|zsh|fish", load: async () => completionCommand(COMMANDS) },
];

export const commands: Record<string, Lazy> = Object.fromEntries(
  COMMANDS.flatMap((c) => [[c.name, c.load] as const, ...(c.alias ? [[c.alias, c.load] as const] : [])]),
);


export const main = defineCommand({
  meta: {
    name: "pipeline",
    version: VERSION,
    description:
      "Documents → Q&A dataset → fine-tuned model for Ollama.\n" +
      "  Every step reads and writes NDJSON records, so steps compose as files or unix pipes.\n" +
      "  Settings: flags > environment > ./config.env > defaults (see config.env.example).",
  },
  subCommands: commands,
});

/** `pipeline --help`: one line per command, instantly (citty would load every command to print its whole description). */
function overview(): string {
  const names = COMMANDS.map((c) => (c.alias ? `${c.name}, ${c.alias}` : c.name));
  const width = Math.max(...names.map((n) => n.length));
  return [
    "pipeline — documents → Q&A dataset → fine-tuned model for Ollama",
    "",
    "Usage: pipeline <command> [options]      (pipeline <command> --help for its options and examples)",
    "",
    "Commands:",
    ...COMMANDS.map((c, i) => `  ${names[i]!.padEnd(width)}  ${c.summary}`),
    "",
    "Start here:",
    "  pipeline all -i data/documents        steps 1-7 offline: no key, server or network needed",
    "  cat notes.md | pipeline chunk | pipeline qa --provider ollama | pipeline validate > scored.ndjson",
    "",
    "Every step reads and writes NDJSON records, so steps compose as files or unix pipes.",
    "Settings: flags > environment > ./config.env > defaults (see config.env.example).",
  ].join("\n");
}

async function run(argv: string[]): Promise<void> {
  const dashes = argv.indexOf("--");
  const options = dashes < 0 ? argv : argv.slice(0, dashes);
  // --version anywhere (before `--`) prints the version and nothing else.
  if (options.includes("--version")) { process.stdout.write(VERSION + "\n"); return; }
  if (argv.length === 0 || options.some((a) => a === "--help" || a === "-h")) {
    const named = argv.find((a) => !a.startsWith("-"));
    if (named && named in commands) return runMain(main, { rawArgs: argv }); // a command's own help
    process.stdout.write(overview() + "\n");
    return;
  }
  // Ctrl-C: a step that can stop cleanly (keep what is done, say how to resume) has its own handler and
  // ends with E_INTERRUPTED; with none, stop here with the same one line. Either way the exit code is 130.
  // A reader that stops early (`pipeline chunk a.md | head -3`) closes our stdout. Node ignores SIGPIPE, so the
  // next write fails with EPIPE; the rest was not wanted, nothing failed: end quietly with 0 (the exit handlers
  // still remove output locks). Without this the command printed a stack trace and exited 1.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  process.on("SIGINT", () => {
    if (stopsCleanlyOnInterrupt()) return;
    process.stderr.write("error [E_INTERRUPTED] interrupted (Ctrl-C)\n");
    process.exit(130);
  });
  try {
    // The command comes first; an option before it belongs to no command (and citty would take its value as one).
    if (argv[0]!.startsWith("-")) throw new PipelineError("E_USAGE", `unknown option ${argv[0]} before the command; options go after it: pipeline <command> ${argv[0]}`);
    // An unknown command is refused here: citty would load every command to look for an alias first (seconds).
    if (!(argv[0]! in commands)) {
      const near = nearestFlag(argv[0]!, Object.keys(commands));
      process.stderr.write(`error [E_USAGE] unknown command ${argv[0]}${near ? `; did you mean ${near}?` : ""}\n\n${overview()}\n`);
      process.exitCode = 2;
      return;
    }
    const named = argv.find((a) => !a.startsWith("-"));
    if (named && named in commands) {
      const { cmd, path, rest } = await leafCommand(main, argv);
      checkFlags(rest, (typeof cmd.args === "function" ? await cmd.args() : await cmd.args) ?? {}, path.join(" "));
    }
    await runCommand(main, { rawArgs: argv });
    // --json: the steps' summaries as one object, the only thing on stdout.
    const json = takeJsonSummary();
    if (json) process.stdout.write(JSON.stringify(json) + "\n");
  } catch (error) {
    process.exitCode = report(error);
    if (error instanceof Error && error.name === "CLIError") process.stderr.write("\n" + overview() + "\n");
  }
}

function report(error: unknown): number {
  if (error instanceof PipelineError) {
    process.stderr.write(redact(`error [${error.code}] ${error.message}`) + "\n");
    if (process.env.PIPELINE_DEBUG && error.stack) process.stderr.write(redact(error.stack) + "\n");
    return error.exitCode;
  }
  const e = error as Error & { code?: string; path?: string };
  if (e?.code === "EPIPE" && process.stdout.destroyed) return 0; // the reader closed stdout first (see run)
  if (e?.name === "CLIError") {
    process.stderr.write(`error [E_USAGE] ${plain(e.message)}\n`);
    return 2;
  }
  // A file-system error no check caught: one line naming the path (the stack only with PIPELINE_DEBUG).
  if (typeof e?.code === "string" && /^E[A-Z]+$/.test(e.code) && "path" in e && !process.env.PIPELINE_DEBUG) {
    const syscall = (e as { syscall?: string }).syscall ?? "";
    const kind = e.code === "ENOENT" || ["read", "scandir", "stat", "lstat", "access"].includes(syscall) ? "E_INPUT" : "E_OUTPUT";
    process.stderr.write(redact(`error [${kind}] ${e.message}`) + "\n");
    return 1;
  }
  process.stderr.write(redact(`error: ${e?.stack ?? String(error)}`) + "\n");
  return 1;
}

await run(process.argv.slice(2));
