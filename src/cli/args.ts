// Flags every command shares, and the glue from parsed flags to settings and log level.
import type { ArgsDef } from "citty";
import { loadSettings, type SettingName, type Settings } from "../config.ts";
import { setJsonSummary, setLogLevel } from "../log.ts";

export const commonArgs = {
  config: { type: "string", description: "Settings file (default: ./config.env when present)", valueHint: "FILE" },
  verbose: { type: "boolean", alias: "v", description: "Show more detail on stderr (never different data)" },
  quiet: { type: "boolean", alias: "q", description: "Print nothing but errors on stderr" },
  "skip-bad-lines": { type: "boolean", description: "Count and report malformed NDJSON lines instead of stopping" },
  json: { type: "boolean", description: "Print the summary as one JSON object on stdout (data then goes to files)" },
} as const satisfies ArgsDef;

export interface CommonFlags { config?: string; verbose?: boolean; quiet?: boolean; "skip-bad-lines"?: boolean; json?: boolean }

/** Apply --verbose/--quiet and load settings with `flags` on top (undefined flags fall through). */
export function settingsFromArgs(args: CommonFlags, flags: Partial<Record<SettingName, unknown>> = {}): Settings {
  setLogLevel(args.quiet ? "quiet" : args.verbose ? "verbose" : "normal");
  setJsonSummary(!!args.json);
  return loadSettings({ configPath: args.config, flags: { skipBadLines: args["skip-bad-lines"] || undefined, ...flags } });
}
