// `pipeline batches list|status|cancel`: what a step has submitted to a vendor's batch service, read from the
// batch ledgers beside the step outputs; status asks the vendor, cancel stops what is still running.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Settings } from "../config.ts";
import { PipelineError } from "../errors.ts";
import { QA_FILE, REPORT_FILE, scoredPathFor } from "../layout.ts";
import { batchLedgerPath, readBatchLedger, type BatchLedger } from "../providers/batch/ledger.ts";
import { batchVendorFor } from "../providers/batch/vendor.ts";

export type BatchesAction = "list" | "status" | "cancel";

export interface BatchesRun {
  action: BatchesAction;
  /** Step outputs whose ledgers to read; default: generate-qa's and validate's in PIPELINE_QA_DIR. */
  outputs?: string[];
  fetch?: typeof globalThis.fetch;
  write?: (text: string) => void;
}

export function defaultBatchOutputs(settings: Settings): string[] {
  return [resolve(join(settings.qaDir, QA_FILE)), scoredPathFor(resolve(join(settings.qaDir, REPORT_FILE)))];
}

export async function runBatches(settings: Settings, o: BatchesRun): Promise<{ ledgers: Array<{ target: string; ledger: BatchLedger }> }> {
  const write = o.write ?? ((t: string) => process.stdout.write(t));
  const targets = (o.outputs?.length ? o.outputs.map((p) => resolve(p)) : defaultBatchOutputs(settings));
  const ledgers: Array<{ target: string; ledger: BatchLedger }> = [];
  for (const target of targets) {
    const ledger = await readBatchLedger(target);
    if (ledger) ledgers.push({ target, ledger });
  }
  if (!ledgers.length) {
    const looked = targets.map((t) => batchLedgerPath(t)).filter((p) => !existsSync(p));
    write(`no batches: none of ${looked.join(", ")} exists (a step run with --batch writes one beside its output)\n`);
    return { ledgers };
  }
  for (const { target, ledger } of ledgers) {
    write(`${ledger.step} · ${ledger.provider}/${ledger.model} · ${batchLedgerPath(target)}\n`);
    if (!ledger.batches.length) write("  (none submitted)\n");
    const vendor = o.action === "list" ? undefined : batchVendorFor({ name: ledger.provider, model: ledger.model, baseURL: ledger.baseURL }, settings.env, o.fetch);
    for (const b of ledger.batches) {
      const head = `  ${b.id ?? "(being created)"}  round ${b.round + 1}  ${b.customIds.length} request(s)`;
      if (!vendor || !b.id || b.collected) {
        write(`${head}  ${b.state}${b.collected ? ", results collected" : ""}\n`);
        continue;
      }
      if (o.action === "cancel") {
        await vendor.cancel(b.id);
        write(`${head}  cancel requested\n`);
        continue;
      }
      const s = await vendor.status(b.id);
      const progress = s.done !== undefined ? `  ${s.done}/${s.total ?? b.customIds.length} done${s.failed ? `, ${s.failed} failed` : ""}` : "";
      write(`${head}  ${s.state}${progress}${s.ended ? " (ended: rerun the step with --resume to collect it)" : ""}\n`);
    }
  }
  if (o.action === "cancel") {
    write("cancelled batches end with the answers they have; rerun the step with --resume to keep those and submit the rest again\n");
  }
  return { ledgers };
}

export function parseBatchesAction(raw: string | undefined): BatchesAction {
  const a = (raw ?? "list").toLowerCase();
  if (a === "list" || a === "status" || a === "cancel") return a;
  throw new PipelineError("E_USAGE", `unknown action "${raw}": use list, status or cancel`, { field: "pipeline batches" });
}
