// `pipeline completion bash|zsh|fish`: a completion script for the shell, made from the command table and
// each command's flags (so it never drifts from the CLI). Install: see the command's --help. A shared helper:
// main.ts hands it the command table (a command module may not import main.ts).
import { defineCommand, type ArgsDef, type CommandDef } from "citty";
import { PipelineError } from "../errors.ts";

export interface CommandEntry { name: string; alias?: string; summary: string; load: () => Promise<CommandDef<any>> }
interface Entry { name: string; summary: string; flags: Array<{ name: string; description: string }>; subs: string[] }

const resolve = async <T>(v: unknown): Promise<T> => (typeof v === "function" ? await (v as () => T)() : await (v as T));

async function entries(table: CommandEntry[]): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const c of table) {
    const cmd = await c.load();
    const subsDef = await resolve<Record<string, unknown> | undefined>(cmd.subCommands);
    const subs = subsDef ? Object.keys(subsDef) : [];
    // A command with subcommands (model): complete the flags of all of them.
    const defs: CommandDef<any>[] = subsDef ? await Promise.all(Object.values(subsDef).map((s) => resolve<CommandDef<any>>(s))) : [cmd];
    const flags = new Map<string, string>();
    for (const d of defs) {
      const args = (await resolve<ArgsDef | undefined>(d.args)) ?? {};
      for (const [name, def] of Object.entries(args)) if (def.type !== "positional") flags.set(name, def.description ?? "");
    }
    flags.set("help", "Show this command's help");
    const flagList = [...flags].map(([name, description]) => ({ name, description: description.split("\n")[0]! }));
    for (const n of [c.name, ...(c.alias ? [c.alias] : [])]) out.push({ name: n, summary: c.summary, flags: flagList, subs });
  }
  return out;
}

const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(es: Entry[]): string {
  return [
    "# pipeline completion for bash: eval \"$(pipeline completion bash)\" (or save it under ~/.local/share/bash-completion/completions/pipeline)",
    "_pipeline() {",
    "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" words=''",
    "  if [ \"$COMP_CWORD\" -eq 1 ]; then",
    `    COMPREPLY=($(compgen -W ${sq(es.map((e) => e.name).join(" ") + " --help --version")} -- "$cur")); return`,
    "  fi",
    "  case \"${COMP_WORDS[1]}\" in",
    ...es.map((e) => `    ${e.name}) words=${sq([...e.subs, ...e.flags.map((f) => `--${f.name}`)].join(" "))};;`),
    "  esac",
    "  if [[ \"$cur\" == -* || ( \"$COMP_CWORD\" -eq 2 && \"${COMP_WORDS[1]}\" == model ) ]]; then",
    "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))",
    "  else",
    "    COMPREPLY=($(compgen -f -- \"$cur\"))",
    "  fi",
    "}",
    "complete -o filenames -F _pipeline pipeline",
    "",
  ].join("\n");
}

function zsh(es: Entry[]): string {
  const esc = (s: string): string => s.replace(/[\\:'[\]]/g, (c) => (c === "'" ? "'\\''" : `\\${c}`));
  return [
    "#compdef pipeline",
    "# pipeline completion for zsh: save as _pipeline in a folder on $fpath (or: source <(pipeline completion zsh))",
    "_pipeline() {",
    "  local -a cmds opts",
    `  cmds=(${es.map((e) => `'${esc(e.name)}:${esc(e.summary)}'`).join(" ")})`,
    "  if (( CURRENT == 2 )); then _describe 'command' cmds; return; fi",
    "  case $words[2] in",
    ...es.map((e) => `    ${e.name}) opts=(${[...e.subs.map((s) => `'${s}'`), ...e.flags.map((f) => `'--${f.name}:${esc(f.description)}'`)].join(" ")});;`),
    "  esac",
    "  if [[ $PREFIX == -* || ( $CURRENT == 3 && $words[2] == model ) ]]; then _describe 'option' opts; else _files; fi",
    "}",
    "if [[ $funcstack[1] == _pipeline ]]; then _pipeline \"$@\"; else compdef _pipeline pipeline; fi",
    "",
  ].join("\n");
}

function fish(es: Entry[]): string {
  const lines = ["# pipeline completion for fish: pipeline completion fish > ~/.config/fish/completions/pipeline.fish", "complete -c pipeline -f"];
  for (const e of es) {
    lines.push(`complete -c pipeline -n __fish_use_subcommand -a ${e.name} -d ${sq(e.summary)}`);
    for (const s of e.subs) lines.push(`complete -c pipeline -n ${sq(`__fish_seen_subcommand_from ${e.name}`)} -a ${s}`);
    for (const f of e.flags) lines.push(`complete -c pipeline -n ${sq(`__fish_seen_subcommand_from ${e.name}`)} -F -l ${f.name} -d ${sq(f.description)}`);
  }
  return lines.join("\n") + "\n";
}

export const SHELLS = { bash, zsh, fish } as const;

export const completionCommand = (table: CommandEntry[]): CommandDef<any> => defineCommand({
  meta: {
    name: "completion",
    description:
      "Print a completion script for your shell (commands, subcommands and each command's flags).\n" +
      "  bash: eval \"$(pipeline completion bash)\"  in ~/.bashrc\n" +
      "  zsh:  pipeline completion zsh > ~/.zfunc/_pipeline  (with fpath+=~/.zfunc before compinit)\n" +
      "  fish: pipeline completion fish > ~/.config/fish/completions/pipeline.fish",
  },
  args: { shell: { type: "positional", required: true, description: "bash | zsh | fish", valueHint: "SHELL" } },
  async run({ args }) {
    const make = SHELLS[args.shell as keyof typeof SHELLS];
    if (!make) throw new PipelineError("E_USAGE", `unknown shell ${JSON.stringify(args.shell)}; use bash, zsh or fish`, { field: "shell" });
    process.stdout.write(make(await entries(table)));
  },
});
