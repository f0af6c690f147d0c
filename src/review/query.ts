// Filters, faceted counts, paging, search and the summary over a ReportIndex and the current decisions.
// Every pass is a loop over typed arrays (100,000 pairs: milliseconds); text search reads the file once per
// new query and keeps the last few answers.
import type { ScoredRecord } from "../records.ts";
import { dropReason } from "../transforms/format.ts";
import type { ReviewStates, ReviewState } from "../transforms/review-decisions.ts";
import { bucketOf } from "../transforms/validate-summary.ts";
import { CHECK_NAMES, CHECKS, VERDICTS, scanPairs, type CheckName, type ReportIndex } from "./report-index.ts";

export const DECISION_FILTERS = ["undecided", "accepted", "rejected", "edited"] as const;
export type DecisionFilter = (typeof DECISION_FILTERS)[number];

/** What the page asks for; every field optional, all given ones must hold. */
export interface Filter {
  verdicts?: number[];
  min?: number;
  max?: number;
  /** Pairs failing any of these checks. */
  checks?: number;
  doc?: number;
  decision?: DecisionFilter;
  q?: string;
}

/** Parses the query string into a Filter; unknown values are refused with what is accepted. */
export function parseFilter(p: URLSearchParams, docCount: number): Filter {
  const f: Filter = {};
  const verdict = p.get("verdict");
  if (verdict) f.verdicts = verdict.split(",").map((v) => { const i = VERDICTS.indexOf(v as never); if (i < 0) throw new FilterError(`verdict must be ${VERDICTS.join(", ")}`); return i; });
  const num = (name: string): number | undefined => {
    const raw = p.get(name);
    if (raw === null || raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new FilterError(`${name} must be a number`);
    return n;
  };
  f.min = num("min"); f.max = num("max");
  const check = p.get("check");
  if (check) f.checks = check.split(",").reduce((m, c) => { if (!(c in CHECKS)) throw new FilterError(`check must be one of ${CHECK_NAMES.join(", ")}`); return m | CHECKS[c as CheckName]; }, 0);
  const doc = num("doc");
  if (doc !== undefined) { if (!Number.isInteger(doc) || doc < 0 || doc >= docCount) throw new FilterError("doc must be a document number from the summary"); f.doc = doc; }
  const decision = p.get("decision");
  if (decision) { if (!DECISION_FILTERS.includes(decision as DecisionFilter)) throw new FilterError(`decision must be ${DECISION_FILTERS.join(", ")}`); f.decision = decision as DecisionFilter; }
  const q = p.get("q")?.trim();
  if (q) f.q = q.slice(0, 200).toLowerCase();
  return f;
}

export class FilterError extends Error {}

const decisionOf = (s: ReviewState | undefined): DecisionFilter => (s?.status ?? "undecided") as DecisionFilter;

/** The strings a text search looks in: question, answer, evidence, every turn, reasoning and source, with edits. */
function searchable(r: ScoredRecord, s: ReviewState | undefined): string {
  const parts = [r.question, r.answer, r.evidence, r.reasoning ?? "", r.source, r.qaId];
  for (const t of r.turns ?? []) parts.push(t.question, t.answer, t.evidence);
  const e = s?.edits;
  if (e) { parts.push(e.question ?? "", e.answer ?? "", e.evidence ?? ""); for (const t of e.turns ?? []) parts.push(t.question, t.answer, t.evidence); }
  return parts.join("\n").toLowerCase();
}

export class Query {
  /** The last few text searches: query → matching pairs (1 = match). */
  private searches = new Map<string, Uint8Array>();

  constructor(readonly index: ReportIndex, readonly states: ReviewStates) {}

  /** Which pairs contain `q` (lower case), reading the file once; edited text counts too. */
  async search(q: string): Promise<Uint8Array> {
    const hit = this.searches.get(q);
    if (hit) return hit;
    const out = new Uint8Array(this.index.count);
    let i = 0;
    await scanPairs(this.index.path, (_offset, bytes) => {
      const k = i++;
      const s = this.states.get(this.index.qaIds[k]!);
      // The raw line is a cheap first look; the parsed text decides (escapes, keys and other fields do not match).
      if (!s?.edits && !bytes.toString("utf8").toLowerCase().includes(q)) return;
      if (searchable(JSON.parse(bytes.toString("utf8")) as ScoredRecord, s).includes(q)) out[k] = 1;
    });
    this.searches.set(q, out);
    if (this.searches.size > 4) this.searches.delete(this.searches.keys().next().value!);
    return out;
  }

  /** An edit changes what a search finds: forget the cached answers. */
  forgetSearches(): void { this.searches.clear(); }

  /**
   * The pairs matching `f` in page order, and the counts per filter value, each counted over the pairs that
   * match every *other* filter (so a count says what choosing that value would show).
   */
  async select(f: Filter): Promise<{ matches: Uint32Array; counts: { verdict: Record<string, number>; check: Record<string, number>; doc: number[]; decision: Record<string, number> } }> {
    const ix = this.index;
    const found = f.q ? await this.search(f.q) : undefined;
    const verdictSet = f.verdicts ? new Set(f.verdicts) : undefined;
    const counts = {
      verdict: Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<string, number>,
      check: Object.fromEntries(CHECK_NAMES.map((c) => [c, 0])) as Record<string, number>,
      doc: new Array<number>(ix.docs.length).fill(0),
      decision: Object.fromEntries(DECISION_FILTERS.map((d) => [d, 0])) as Record<string, number>,
    };
    const matches: number[] = [];
    for (const i of ix.order) {
      const s = this.states.get(ix.qaIds[i]!);
      const dec = decisionOf(s);
      const okVerdict = !verdictSet || verdictSet.has(ix.verdicts[i]!);
      const score = ix.overall[i]!;
      const okScore = (f.min === undefined || score >= f.min) && (f.max === undefined || score <= f.max);
      const okCheck = f.checks === undefined || (ix.flags[i]! & f.checks) !== 0;
      const okDoc = f.doc === undefined || ix.doc[i] === f.doc;
      const okDecision = f.decision === undefined || (f.decision === "edited" ? !!s?.edits : dec === f.decision);
      const okText = !found || found[i] === 1;
      const base = okScore && okText;
      if (base && okCheck && okDoc && okDecision) counts.verdict[VERDICTS[ix.verdicts[i]!]!]!++;
      if (base && okVerdict && okDoc && okDecision) for (const c of CHECK_NAMES) if (ix.flags[i]! & CHECKS[c]) counts.check[c]!++;
      if (base && okVerdict && okCheck && okDecision) counts.doc[ix.doc[i]!]!++;
      if (base && okVerdict && okCheck && okDoc) { counts.decision[dec]!++; if (s?.edits) counts.decision.edited!++; }
      if (base && okVerdict && okCheck && okDoc && okDecision) matches.push(i);
    }
    return { matches: Uint32Array.from(matches), counts };
  }

  /**
   * Verdict counts, the overall-score histogram, pairs per document, decisions, and what `format` would keep at
   * `threshold` with the decisions (the same dropReason format uses).
   */
  summary(threshold: number, keepDuplicates = false) {
    const ix = this.index;
    const verdicts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<string, number>;
    const histogram = new Array<number>(10).fill(0);
    const perDoc = new Array<number>(ix.docs.length).fill(0);
    const decisions = { accepted: 0, rejected: 0, edited: 0 };
    const dropped: Record<string, number> = { generation_failed: 0, below_threshold: 0, duplicate: 0, ungrounded: 0, rejected: 0 };
    let kept = 0;
    for (let i = 0; i < ix.count; i++) {
      verdicts[VERDICTS[ix.verdicts[i]!]!]!++;
      histogram[bucketOf(ix.overall[i]!)]!++;
      perDoc[ix.doc[i]!]!++;
      const s = this.states.get(ix.qaIds[i]!);
      if (s?.status) decisions[s.status]++;
      if (s?.edits) decisions.edited++;
      const why = dropReason(this.shapeOf(i, s), { threshold, keepDuplicates }, s?.status);
      if (why) dropped[why]!++; else kept++;
    }
    return {
      file: ix.path, total: ix.count, verdicts, histogram, threshold,
      docs: ix.docs.map((name, i) => ({ i, name, pairs: perDoc[i] })),
      decisions, format: { kept, dropped },
      checks: CHECK_NAMES,
    };
  }

  /** The fields of pair i that dropReason reads, from the index (edits can fill an empty question or answer). */
  private shapeOf(i: number, s: ReviewState | undefined): ScoredRecord {
    const f = this.index.flags[i]!;
    const empty = (f & CHECKS.empty) !== 0 && !(s?.edits?.question || s?.edits?.answer || s?.edits?.turns);
    return {
      question: empty ? "" : "q", answer: empty ? "" : "a", error: f & CHECKS.generation_error ? "error" : undefined,
      scores: { overall: this.index.overall[i]! }, checks: { grounded: !(f & CHECKS.ungrounded), duplicateOf: f & CHECKS.duplicate ? "dup" : null },
    } as unknown as ScoredRecord;
  }
}
