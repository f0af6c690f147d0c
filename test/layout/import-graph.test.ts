// The import graph of src/: no cycles, and every import runs one way — down the layers below, or across
// within one layer — and no module imports a CLI command. Run alone: node --import tsx --test test/layout/import-graph.test.ts
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dirname, "../../src");

/** Layer of each top-level part of src/ (a higher layer may import a lower or the same one, never a higher). */
const LAYERS: Record<string, number> = {
  "config.ts": 0, "records.ts": 0, "errors.ts": 0, "log.ts": 0, "random.ts": 0, "layout.ts": 0,
  kernels: 1, gguf: 1, safetensors: 1, streams: 1,
  providers: 2, chat: 2, tokenizer: 2, model: 2, ollama: 2, "llama-cpp": 2, hf: 2,
  transforms: 3, train: 3, export: 3, sinks: 3,
  // The review server (pipeline review): the report index, queries and HTTP API over transforms and sinks.
  review: 3,
  // Step runners: one step from settings to files, composing stages, sinks, training and export; the CLI, `all` and `pipeline` call them.
  steps: 4,
  cli: 5, "index.ts": 5,
};
/** CLI files that are shared helpers, not commands: the only cli/ files other cli/ files may import. */
const CLI_HELPERS = new Set(["cli/args.ts", "cli/provider-args.ts", "cli/color-env.ts", "cli/flag-check.ts", "cli/completion.ts"]);

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === "build" || e === "node_modules") continue;
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (/\.(ts|mjs)$/.test(e)) out.push(relative(SRC, p));
  }
  return out;
}

/** Relative imports of a file: static `from "…"`, side-effect `import "…"` and literal `import("…")`. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), "utf8").replace(/^\s*\/\/.*$/gm, "");
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm)].map((m) => m[1]!);
  return specs.map((s) => relative(SRC, resolve(SRC, dirname(file), s)));
}

const part = (file: string): string => file.split("/")[0]!;
const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test("every part of src/ has a layer", () => {
  const unknown = [...new Set(files.map(part))].filter((p) => !(p in LAYERS));
  assert.deepEqual(unknown, [], "add new top-level parts to LAYERS");
});

test("imports run one way: never to a higher layer, never to a CLI command", () => {
  const bad: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      assert.ok(graph.has(to), `${from} imports ${to}, which does not exist`);
      if (LAYERS[part(to)]! > LAYERS[part(from)]!) bad.push(`${from} → ${to} (layer ${LAYERS[part(from)]} → ${LAYERS[part(to)]})`);
      if (part(to) === "cli" && from !== "cli/main.ts" && !CLI_HELPERS.has(to)) bad.push(`${from} → ${to} (a CLI command)`);
    }
  }
  assert.deepEqual(bad, []);
});

test("the import graph has no cycle", () => {
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") { cycles.push([...path.slice(path.indexOf(f)), f].join(" → ")); return; }
    state.set(f, "open");
    for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, "done");
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, []);
});
