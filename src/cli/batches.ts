// `pipeline batches [list|status|cancel]`: the batches generate-qa and validate have submitted with --batch.
import { defineCommand } from "citty";
import { flag } from "../config.ts";
import { parseBatchesAction, runBatches } from "../steps/batches.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

export default defineCommand({
  meta: {
    name: "batches",
    description:
      "Show or cancel what generate-qa and validate have in flight in a vendor's batch service (--batch).\n" +
      "  list: the batches in each step's ledger (no request made); status: their state and progress, asked of\n" +
      "  the vendor; cancel: stop the ones still running (their answers so far are kept by the next --resume).\n" +
      "  Examples:\n" +
      "    pipeline batches                      # list, from <PIPELINE_QA_DIR>\n" +
      "    pipeline batches status -o data/document_training_data\n" +
      "    pipeline batches cancel --file out/validation_report.scored.ndjson",
  },
  args: {
    action: { type: "positional", required: false, description: "list (default) | status | cancel", valueHint: "ACTION" },
    "output-dir": { type: "string", alias: "o", description: "The steps' output folder (default PIPELINE_QA_DIR or data/document_training_data)", valueHint: "DIR" },
    file: { type: "string", description: "One step output file whose batches to show (its ledger is FILE.batches.json)", valueHint: "FILE" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, { qaDir: flag("--output-dir", args["output-dir"]) });
    await runBatches(settings, { action: parseBatchesAction(args.action as string | undefined), outputs: args.file ? [args.file] : undefined });
  },
});
