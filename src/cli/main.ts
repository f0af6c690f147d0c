// The `pipeline` CLI: commands are data, one file each, loaded only when used so --help is instant.
import { defineCommand, runCommand, runMain, showUsage, type CommandDef } from "citty";
import { PipelineError, redact } from "../errors.ts";

type Lazy = () => Promise<CommandDef<any>>;
const lazy = (load: () => Promise<{ default: CommandDef<any> }>): Lazy => () => load().then((m) => m.default);

/** Registered only once they work end to end. */
export const commands: Record<string, Lazy> = {
  chunk: lazy(() => import("./chunk.ts")),
  "generate-qa": lazy(() => import("./generate-qa.ts")),
  qa: lazy(() => import("./generate-qa.ts")),
  validate: lazy(() => import("./validate.ts")),
  format: lazy(() => import("./format.ts")),
  combine: lazy(() => import("./combine.ts")),
  pipeline: lazy(() => import("./pipeline.ts")),
  model: lazy(() => import("./model.ts")),
  "qa-train": lazy(() => import("./qa-train.ts")),
  finetune: lazy(() => import("./finetune.ts")),
  export: lazy(() => import("./export.ts")),
  verify: lazy(() => import("./verify.ts")),
  all: lazy(() => import("./all.ts")),
};

export const main = defineCommand({
  meta: {
    name: "pipeline",
    version: "0.1.0",
    description:
      "Documents → Q&A dataset → fine-tuned model for Ollama.\n" +
      "  Every step reads and writes NDJSON records, so steps compose as files or unix pipes.\n" +
      "  Settings: flags > environment > ./config.env > defaults (see config.env.example).",
  },
  subCommands: commands,
});

async function run(argv: string[]): Promise<void> {
  const wantsHelp = argv.length === 0 || argv.some((a) => a === "--help" || a === "-h") || (argv.length === 1 && argv[0] === "--version");
  if (wantsHelp) return runMain(main, { rawArgs: argv.length ? argv : ["--help"] });
  try {
    await runCommand(main, { rawArgs: argv });
  } catch (error) {
    process.exitCode = report(error);
    if (error instanceof Error && error.name === "CLIError") await showUsage(main).catch(() => {});
  }
}

function report(error: unknown): number {
  if (error instanceof PipelineError) {
    process.stderr.write(redact(`error [${error.code}] ${error.message}`) + "\n");
    if (process.env.PIPELINE_DEBUG && error.stack) process.stderr.write(redact(error.stack) + "\n");
    return error.exitCode;
  }
  const e = error as Error & { code?: string };
  if (e?.name === "CLIError") {
    process.stderr.write(`error [E_USAGE] ${e.message}\n`);
    return 2;
  }
  process.stderr.write(redact(`error: ${e?.stack ?? String(error)}`) + "\n");
  return 1;
}

await run(process.argv.slice(2));
