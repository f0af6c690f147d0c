// Unknown flags are an error (citty accepts them silently, so `--chunk-sise 100` made `100` an input path):
// every `-x`/`--name` before `--` must be one the command defines, else E_USAGE naming it and the nearest.
import type { ArgsDef, CommandDef } from "citty";
import { PipelineError } from "../errors.ts";

type Resolvable<T> = T | Promise<T> | (() => T | Promise<T>);
const resolveValue = async <T>(v: Resolvable<T>): Promise<T> => (typeof v === "function" ? await (v as () => T | Promise<T>)() : await v);

const kebab = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

interface Known { long: Map<string, "string" | "boolean">; short: Map<string, "string" | "boolean"> }

function knownFlags(args: ArgsDef): Known {
  const long = new Map<string, "string" | "boolean">([["help", "boolean"], ["version", "boolean"]]);
  const short = new Map<string, "string" | "boolean">([["h", "boolean"]]);
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    const type = def.type === "boolean" ? "boolean" : "string";
    const alias = (def as { alias?: string | string[] }).alias;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    for (const n of [name, kebab(name), camel(name), ...aliases]) (n.length === 1 ? short : long).set(n, type);
    // citty reads `--no-X` as X=false for any X (`--no-cache` turns the cache directory off).
    long.set(`no-${kebab(name)}`, "boolean");
  }
  return { long, short };
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}

/** The known long flag (or command) closest to `name` (by edit distance, at most a third of its length + 1), if any. */
export function nearestFlag(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const k of known) {
    if (k.startsWith("no-") && !name.startsWith("no-")) continue;
    const dd = distance(name, k);
    if (dd < bestD) { best = k; bestD = dd; }
  }
  return best !== undefined && bestD <= Math.floor(name.length / 3) + 1 ? best : undefined;
}

/** The command `argv` runs (following subcommands) and the arguments left for it. */
export async function leafCommand(root: CommandDef<any>, argv: string[]): Promise<{ cmd: CommandDef<any>; path: string[]; rest: string[] }> {
  let cmd = root, rest = argv;
  const path: string[] = [];
  for (;;) {
    const subs = cmd.subCommands ? await resolveValue(cmd.subCommands as Resolvable<Record<string, Resolvable<CommandDef<any>>>>) : undefined;
    const i = rest.findIndex((a) => !a.startsWith("-"));
    if (!subs || i < 0 || !(rest[i]! in subs)) return { cmd, path, rest };
    path.push(rest[i]!);
    cmd = await resolveValue(subs[rest[i]!]!);
    rest = [...rest.slice(0, i), ...rest.slice(i + 1)];
  }
}

/** Throws E_USAGE (exit 2) for the first flag in `argv` that `args` does not define. */
export function checkFlags(argv: string[], args: ArgsDef, command: string): void {
  const known = knownFlags(args);
  const refuse = (flag: string, near?: string): never => {
    throw new PipelineError("E_USAGE", `unknown option ${flag} for \`pipeline ${command}\`${near ? `; did you mean --${near}?` : ""} (see pipeline ${command} --help)`);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return;
    if (a.startsWith("--")) {
      const name = a.slice(2).split("=")[0]!;
      const type = known.long.get(name);
      if (!type) refuse(`--${name}`, nearestFlag(name, known.long.keys()));
      if (type === "string" && !a.includes("=")) i++; // its value, whatever it looks like (`-o -`)
    } else if (a.startsWith("-") && a.length > 1) {
      // A group of short flags (-vq); a string flag takes the rest of the group or the next word as its value.
      for (let j = 1; j < a.length; j++) {
        const type = known.short.get(a[j]!);
        if (!type) refuse(`-${a[j]}`);
        if (type === "string") { if (j === a.length - 1) i++; break; }
      }
    }
  }
}
