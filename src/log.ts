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
