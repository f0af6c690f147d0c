// The one logger: everything human-readable goes to stderr, so stdout stays pure data.
import { createConsola, type ConsolaInstance } from "consola";
import { redact } from "./errors.ts";

export type LogLevel = "quiet" | "normal" | "verbose";

function make(level: LogLevel): ConsolaInstance {
  return createConsola({
    level: level === "quiet" ? 0 : level === "verbose" ? 4 : 3,
    stdout: process.stderr,
    stderr: process.stderr,
    formatOptions: { date: false, colors: process.stderr.isTTY ?? false },
    reporters: [
      {
        log(obj) {
          const text = obj.args.map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a))).join(" ");
          const tag = obj.type === "warn" ? "warn: " : obj.type === "error" || obj.type === "fatal" ? "error: " : "";
          // A progress bar on the same terminal line is cleared first; it redraws on its next tick.
          if (beforeLine) beforeLine();
          process.stderr.write(redact(tag + text) + "\n");
        },
      },
    ],
  });
}

let beforeLine: (() => void) | undefined;
/** Lets a live progress bar clear its line before a log line is written (undefined removes it). */
export function setBeforeLogLine(fn: (() => void) | undefined): void {
  beforeLine = fn;
}

export let log: ConsolaInstance = make("normal");
export let logLevel: LogLevel = "normal";
export function setLogLevel(level: LogLevel): void {
  logLevel = level;
  log = make(level);
}

// --json: each step records its summary here (as well as logging it); the CLI prints them all as one JSON
// object on stdout when the command ends, keyed by step. In that mode stdout carries nothing else: data goes
// to files and human-readable summaries go to stderr (see humanOut).
let jsonSummary: Record<string, unknown> | undefined;
export function setJsonSummary(on: boolean): void {
  jsonSummary = on ? {} : undefined;
}
export const jsonSummaryOn = (): boolean => jsonSummary !== undefined;
/** Records a step's summary for --json (a no-op otherwise). */
export function summary(step: string, fields: Record<string, unknown>): void {
  if (jsonSummary) jsonSummary[step] = fields;
}
/** The recorded summaries (undefined when --json is off or nothing was recorded). */
export function takeJsonSummary(): Record<string, unknown> | undefined {
  return jsonSummary && Object.keys(jsonSummary).length ? jsonSummary : undefined;
}
/** Where a human-readable summary that used to go to stdout goes: stderr under --json. */
export const humanOut = (): NodeJS.WriteStream => (jsonSummary ? process.stderr : process.stdout);
