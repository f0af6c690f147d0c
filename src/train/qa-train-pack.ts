// Packs tokenized examples into fixed-length training rows; loss only on answer tokens.
import { TokenRows } from "./qa-train-files.ts";

/**
 * tokens = [bos?, prompt…, answer…, eos]; the loss covers predictions of tokens[lossFrom…] — or, for a
 * conversation, of the tokens inside `lossSpans` ([start, end) each: every assistant turn).
 */
export interface TokenizedExample { tokens: number[]; lossFrom: number; lossSpans?: Array<[number, number]> }

const carriesLoss = (ex: TokenizedExample, at: number) => (ex.lossSpans ? ex.lossSpans.some(([a, b]) => at >= a && at < b) : at >= ex.lossFrom);

export interface PackStats {
  examples: number;
  /** Examples cut to fit one row (their tail was dropped). */
  truncated: number;
  /** Examples dropped because no answer token survived truncation. */
  dropped: number;
  rows: number;
  /** Input positions holding real tokens (not padding). */
  tokens: number;
  /** Positions whose target carries loss (answer tokens). */
  lossTokens: number;
  /** tokens / (rows * seqLen). */
  packingEfficiency: number;
}

/**
 * Greedy in-order packing: an example goes into the current row if it fits, else it starts a new
 * row; an example longer than a row is truncated to one row. Padding uses `pad` with target -1.
 * Positions restart at 0 for every example: the model masks attention between packed examples.
 */
export function packExamples(examples: TokenizedExample[], seqLen: number, pad: number): { rows: TokenRows; stats: PackStats } {
  const rows: Array<{ inputs: number[]; targets: number[]; positions: number[] }> = [];
  let cur = { inputs: [] as number[], targets: [] as number[], positions: [] as number[] };
  const stats: PackStats = { examples: 0, truncated: 0, dropped: 0, rows: 0, tokens: 0, lossTokens: 0, packingEfficiency: 0 };
  for (const ex of examples) {
    let inputs = ex.tokens.slice(0, -1);
    let targets = ex.tokens.slice(1).map((t, j) => (carriesLoss(ex, j + 1) ? t : -1));
    if (inputs.length > seqLen) {
      inputs = inputs.slice(0, seqLen);
      targets = targets.slice(0, seqLen);
      if (!targets.some((t) => t >= 0)) { stats.dropped++; continue; }
      stats.truncated++;
    }
    if (!targets.some((t) => t >= 0)) { stats.dropped++; continue; }
    stats.examples++;
    if (cur.inputs.length + inputs.length > seqLen) { rows.push(cur); cur = { inputs: [], targets: [], positions: [] }; }
    cur.inputs.push(...inputs);
    cur.targets.push(...targets);
    cur.positions.push(...inputs.map((_, j) => j));
  }
  if (cur.inputs.length) rows.push(cur);
  for (const r of rows) {
    stats.tokens += r.inputs.length;
    stats.lossTokens += r.targets.filter((t) => t >= 0).length;
    // Padding forms its own segment, so real tokens never attend to it.
    const padStart = r.inputs.length;
    while (r.inputs.length < seqLen) { r.positions.push(r.inputs.length - padStart); r.inputs.push(pad); r.targets.push(-1); }
  }
  stats.rows = rows.length;
  stats.packingEfficiency = rows.length ? stats.tokens / (rows.length * seqLen) : 0;
  return { rows: TokenRows.fromRows(seqLen, rows), stats };
}
