// The batch ledger beside a step's output: which batches were submitted (vendor id, lines, state) and the
// results read back, so `--resume` after a kill polls the same batches and submits nothing twice.
//   P.batches.json           { step, provider, model, settingsHash, batches: [{ label, id, customIds, state, collected }] }
//   P.batch-results.ndjson   one line per request answered (or failed) by a batch, appended as results are read
import { createHash } from "node:crypto";
import { appendFile, mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { PipelineError } from "../../errors.ts";
import type { GenerateResult, ProviderName } from "../types.ts";

export const batchLedgerPath = (target: string): string => `${target}.batches.json`;
export const batchResultsPath = (target: string): string => `${target}.batch-results.ndjson`;

export interface BatchEntry {
  /** Our tag on the vendor's batch (metadata / display name), unique per run, round and part. */
  label: string;
  /** The vendor's batch id; absent while it is being created. */
  id?: string;
  inputFileId?: string;
  round: number;
  /** The submitted lines' custom ids, in order. */
  customIds: string[];
  /** "submitting" until created, then the vendor's state. */
  state: string;
  /** Its results are in the results file. */
  collected: boolean;
  submittedAt: string;
  done?: number;
  failed?: number;
}

export interface BatchLedger {
  version: 1;
  step: string;
  provider: ProviderName;
  model: string;
  baseURL?: string;
  settingsHash: string;
  runId: string;
  batches: BatchEntry[];
}

export type StoredOutcome =
  | { key: string; ok: true; result: GenerateResult }
  | { key: string; ok: false; error: string; retryable: boolean };

export async function readBatchLedger(target: string): Promise<BatchLedger | undefined> {
  const file = batchLedgerPath(target);
  let text: string;
  try { text = await readFile(file, "utf8"); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    const l = JSON.parse(text) as BatchLedger;
    if (l.version !== 1 || !Array.isArray(l.batches)) throw new Error("unknown layout");
    return l;
  } catch (e) {
    throw new PipelineError("E_RESUME", `batch ledger is unreadable (${(e as Error).message}); check the vendor's console for its batches, then delete the file to start over`, { file });
  }
}

/** Atomic replace, so a kill never leaves a torn ledger. */
export async function writeBatchLedger(target: string, ledger: BatchLedger): Promise<void> {
  const file = batchLedgerPath(target);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(ledger, null, 1) + "\n");
  await rename(`${file}.tmp`, file);
}

export async function removeBatchFiles(target: string): Promise<void> {
  await rm(batchLedgerPath(target), { force: true });
  await rm(batchResultsPath(target), { force: true });
}

/** Every stored outcome; a later line for the same request (a retry) wins. A torn last line (a kill) is skipped. */
export async function readBatchResults(target: string): Promise<Map<string, StoredOutcome>> {
  const out = new Map<string, StoredOutcome>();
  let text = "";
  try { text = await readFile(batchResultsPath(target), "utf8"); } catch { return out; }
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try { const o = JSON.parse(line) as StoredOutcome; out.set(o.key, o); } catch { /* torn by a kill: read again from the vendor */ }
  }
  return out;
}

/** Appended and synced before the batch is marked collected in the ledger. */
export async function appendBatchResults(target: string, outcomes: StoredOutcome[]): Promise<void> {
  if (!outcomes.length) return;
  const file = batchResultsPath(target);
  await appendFile(file, outcomes.map((o) => JSON.stringify(o)).join("\n") + "\n");
  const h = await open(file, "r");
  try { await h.datasync(); } finally { await h.close(); }
}

export const newRunId = (): string => createHash("sha256").update(`${process.pid}:${Date.now()}:${Math.random()}`).digest("hex").slice(0, 10);
