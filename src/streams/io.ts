// Whether data comes from stdin and goes to stdout: when they are piped and no file is named.
import { fstatSync } from "node:fs";
import { jsonSummaryOn } from "../log.ts";

/**
 * True when stdin is a pipe, socket or file (a user is piping data in). A terminal or a character
 * device such as /dev/null (CI, cron, `< /dev/null`) is not, so those fall back to the input folder.
 */
export function stdinIsPiped(): boolean {
  if (process.env.PIPELINE_IGNORE_STDIN) return false;
  try {
    const s = fstatSync(0);
    return s.isFIFO() || s.isSocket() || s.isFile();
  } catch {
    return false;
  }
}

/** True when stdout is a pipe or file: data then goes to stdout unless -o names a place. */
export function stdoutIsPiped(): boolean {
  // Under --json stdout holds the summary object only, so data goes to the default files.
  return !process.stdout.isTTY && !jsonSummaryOn();
}
