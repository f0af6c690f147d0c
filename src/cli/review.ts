// `pipeline review [REPORT]`: a local web page to review, edit and approve the pairs before format.
import { join } from "node:path";
import { defineCommand } from "citty";
import { flag, parseFlag } from "../config.ts";
import { CHUNKS_FILE, REPORT_FILE, REVIEW_DECISIONS_FILE } from "../layout.ts";
import { runReview } from "../steps/review.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

export default defineCommand({
  meta: {
    name: "review",
    description:
      "Review, edit and approve the pairs of a validation report in a local web page, before format.\n" +
      "  Starts a server on 127.0.0.1 (a free port unless --port) and prints its URL with a random access token;\n" +
      "  opens nothing unless --open. NEEDS_REVIEW pairs come first; filter by verdict, score, failed check,\n" +
      "  document or text; accept (a), reject (r), edit (e, evidence re-checked live), undo (u), bulk actions.\n" +
      `  Every action is appended and fsynced to ${REVIEW_DECISIONS_FILE} beside the report; format applies them\n` +
      "  (accepted kept whatever the threshold, rejected dropped, edits replace the text). Ctrl-C stops.\n" +
      "  Examples:\n" +
      "    pipeline review                                   # <PIPELINE_QA_DIR>/validation_report.json\n" +
      "    pipeline review data/x/validation_report.json --open\n" +
      "    pipeline review report.json --port 8765 --threshold 8",
  },
  args: {
    report: { type: "positional", required: false, description: "validation_report.json or scored NDJSON (default <PIPELINE_QA_DIR>/validation_report.json)", valueHint: "REPORT" },
    chunks: { type: "string", description: "chunks.ndjson, for the source chunk of each pair (default <PIPELINE_CHUNKS_DIR>/chunks.ndjson)", valueHint: "FILE" },
    port: { type: "string", description: "Port to listen on (default 0: any free port)", valueHint: "N" },
    host: { type: "string", description: "Address to listen on (default 127.0.0.1; anything else is reachable from other machines: a warning)", valueHint: "ADDR" },
    open: { type: "boolean", description: "Open the page in the default browser" },
    threshold: { type: "string", description: "format's threshold for the \"format would keep\" figure (default PIPELINE_FILTER_THRESHOLD, 7.0)", valueHint: "X" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, { filterThreshold: flag("--threshold", args.threshold) });
    await runReview({
      report: (args.report as string | undefined) ?? join(settings.qaDir, REPORT_FILE),
      chunks: args.chunks ?? join(settings.chunksDir, CHUNKS_FILE),
      port: parseFlag("port", args.port), host: args.host, open: !!args.open, threshold: settings.filterThreshold,
    });
  },
});
