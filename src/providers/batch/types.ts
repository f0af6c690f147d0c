// What every vendor's batch service looks like to the batch engine: submit lines, ask how far, read results, cancel.
import type { GenerateRequest, GenerateResult, ProviderName } from "../types.ts";

/** One request of a batch; customId comes back with its result (vendors may return results in any order). */
export interface BatchLine { customId: string; request: GenerateRequest }

/** A vendor's documented ceiling per batch. */
export interface BatchLimits { maxRequests: number; maxBytes: number }

export type LineOutcome =
  | { customId: string; ok: true; result: GenerateResult }
  | { customId: string; ok: false; error: string; retryable: boolean };

export interface BatchStatus {
  id: string;
  /** The vendor's own word for the state (in_progress, ended, JOB_STATE_SUCCEEDED, …). */
  state: string;
  /** No more change will come: results (or the reason there are none) can be read. */
  ended: boolean;
  total?: number;
  /** Requests finished, succeeded or not (for done/total and the ETA). */
  done?: number;
  failed?: number;
}

export interface BatchResults {
  lines: LineOutcome[];
  /** What to say about a submitted line the vendor returned nothing for (a failed or cancelled batch). */
  missing: { error: string; retryable: boolean };
}

export interface BatchVendor {
  readonly name: ProviderName;
  readonly model: string;
  readonly baseURL?: string;
  readonly limits: BatchLimits;
  /** Bytes this line adds to a batch in the vendor's wire format (for splitting by the byte limit). */
  lineBytes(line: BatchLine): number;
  /** Upload (where the vendor wants a file) and create one batch; `label` tags it so it can be found again. */
  submit(lines: BatchLine[], label: string): Promise<{ id: string; inputFileId?: string }>;
  status(id: string): Promise<BatchStatus>;
  /** Outcomes of an ended batch; `customIds` are the submitted lines, in order (for vendors that answer by position). */
  results(id: string, customIds: readonly string[]): Promise<BatchResults>;
  cancel(id: string): Promise<void>;
  /**
   * The batch a killed run created but never recorded (a kill between create and the ledger write): by its label
   * where the vendor keeps one, else by when it was created and how many requests it holds (`hint`).
   */
  findByLabel?(label: string, hint: LostBatchHint): Promise<string | undefined>;
}

/** What the ledger knows of a batch whose create may have happened: when, how big, and the ids it already holds. */
export interface LostBatchHint {
  submittedAt: string;
  requests: number;
  /** Batch ids already in the ledger (never the lost one). */
  known: ReadonlySet<string>;
}
