// Where data comes from and goes to: files when named, stdin/stdout when piped.
import { createReadStream } from "node:fs";
import type { Readable, Writable } from "node:stream";

/** True when stdin is a pipe or file rather than a terminal (so a user is piping data in). */
export function stdinIsPiped(): boolean {
  return !process.stdin.isTTY && !process.env.PIPELINE_IGNORE_STDIN;
}

/** True when stdout is a pipe or file: data then goes to stdout unless -o names a place. */
export function stdoutIsPiped(): boolean {
  return !process.stdout.isTTY;
}

export function openInput(path: string | undefined): Readable {
  return path && path !== "-" ? createReadStream(path) : process.stdin;
}

export function stdout(): Writable {
  return process.stdout;
}
