// The resume ledger kept beside an output: how many inputs are committed, how many bytes of output
// belong to them, and the settings that shaped those bytes (DESIGN.md § Resume).
import { createHash } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { PipelineError } from "../errors.ts";

export interface Ledger {
  version: 1;
  step: string;
  format: string;
  /** Inputs fully processed whose outputs are all in the first `bytes` bytes of the work file. */
  inputs: number;
  /** Output records in those bytes (json-array framing needs it to place the next separator). */
  records: number;
  bytes: number;
  /** True once the closing bytes are written; the work file is then renamed over the target. */
  complete: boolean;
  settingsHash: string;
  /** The settings themselves, so a refusal can say which one changed. */
  settings: Record<string, unknown>;
  updatedAt: string;
}

export const ledgerPath = (target: string): string => `${target}.ledger.json`;
export const workPath = (target: string): string => `${target}.partial`;
/** Where a fresh run keeps the ledger of the complete output it will replace, until it completes itself. */
export const keptLedgerPath = (target: string): string => `${target}.ledger.complete.json`;

/** Stable hash of settings: key order does not matter, undefined values are left out. */
export function hashSettings(settings: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(settings)).digest("hex").slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export async function readLedger(target: string, file = ledgerPath(target)): Promise<Ledger | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    const ledger = JSON.parse(text) as Ledger;
    if (ledger.version !== 1 || typeof ledger.bytes !== "number" || typeof ledger.inputs !== "number") throw new Error("unknown layout");
    return ledger;
  } catch (e) {
    throw new PipelineError("E_RESUME", `resume ledger is unreadable (${(e as Error).message}); run again without --resume to start over`, { file });
  }
}

/** Atomic replace (write a temp file, rename), so a kill never leaves a torn ledger. */
export async function writeLedger(target: string, ledger: Ledger, file = ledgerPath(target)): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(ledger) + "\n");
  await rename(tmp, file);
}

/** Names of settings whose values differ, for a message a user can act on. */
export function changedSettings(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => canonicalJson(before[k]) !== canonicalJson(after[k])).sort();
}
