// Does the answer answer *this* question? Grounding proves the words come from the source; it cannot tell
// an answer moved to another question of the same chunk (still grounded, still on topic) or an answer cut
// short. Three signals, all from the text alone:
// - focus: the question's content terms, weighted by how rare they are in the chunk (the subject every
//   sentence shares weighs little, the term that picks one sentence weighs much), covered by the answer
//   compared with the best any single passage of the chunk covers — 1 when no passage fits better;
// - form: what the question asks for against what the answer is (steps → a list, how many → a number…);
// - truncation: the answer stops where its source sentence goes on, or on a word that cannot end one.
import { contentWords, stem } from "./normalize.ts";

export interface AnswerFit {
  /** 0–1: how well the answer fits the question, against the best passage of the chunk. */
  fit: number;
  /** The answer stops mid-sentence. */
  truncated: boolean;
}

// Words that frame a question rather than name what it is about ("What are the main points about X?").
const FRAME = new Set(
  ("main point points step steps mean means meaning refer refers stand stands use used using happen happens " +
    "describe describes explain explains purpose kind kinds type types way ways thing things need needs say says " +
    "according text passage document section list example examples").split(" "),
);

const HEADING_QUESTION = /\b(?:main points about|steps (?:to|for))\b/i;
const LINK = /!?\[([^\]]*)\]\([^)]*\)/g;
const SMOOTHING = 0.05;

// Quote marks around code names (`name`, 'name') stay on the word in contentWords; a name is the same name here.
const terms = (text: string): string[] =>
  contentWords(text).map((w) => w.replace(/^['_-]+|['_-]+$/g, "")).filter((w) => w.length > 1 && !FRAME.has(w)).map(stem);

/** Sentences and lines of the chunk: the passages a question could be about. */
function passages(context: string): string[] {
  const out: string[] = [];
  const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });
  for (const line of context.split(/\n+/)) {
    if (!line.trim()) continue;
    for (const s of segmenter.segment(line)) if (s.segment.trim()) out.push(s.segment);
  }
  return out;
}

/**
 * The heading that governs `at`: the nearest markdown `#` line above it, else (plain text, PDFs) the nearest
 * short line without an end mark. Only the nearest: an answer from another section must not borrow it.
 */
function headingAbove(context: string, at: number): string {
  const lines = context.slice(0, Math.max(0, at)).split("\n").map((l) => l.trim()).reverse();
  return lines.find((t) => /^#{1,6}\s/.test(t))
    ?? lines.find((t) => t && t.length < 80 && !/[.!?:,;]$/.test(t) && !/^(?:[-*+]|\d+[.)])\s/.test(t))
    ?? "";
}

/** A text's terms and its pairs of neighbouring terms ("dispose items"): word order tells apart sentences with the same words. */
function units(text: string): Set<string> {
  const t = terms(text);
  const out = new Set(t);
  for (let i = 1; i < t.length; i++) out.add(`${t[i - 1]} ${t[i]}`);
  return out;
}

/** Question units weighted by rarity among the chunk's passages (idf), and a coverage function over them. */
function focus(question: string, context: string): { cover(seen: Set<string>): number; best: number } | null {
  const q = [...units(question)];
  if (!q.length) return null;
  const ps = passages(context).map(units);
  const n = Math.max(1, ps.length);
  const weight = new Map(q.map((t) => [t, Math.log(1 + n / (1 + ps.filter((p) => p.has(t)).length))]));
  const total = [...weight.values()].reduce((a, b) => a + b, 0);
  const cover = (seen: Set<string>) => q.reduce((sum, t) => sum + (seen.has(t) ? weight.get(t)! : 0), 0) / total;
  return { cover, best: ps.reduce((m, p) => Math.max(m, cover(p)), 0) };
}

/** How much the answer's form matches what the question asks for: 1 when it does, less when not. */
function formFit(question: string, answer: string): number {
  const q = question.trim().toLowerCase();
  const items = answer.split("\n").filter((l) => /^\s*(?:[-*+]|\d+[.)])\s/.test(l)).length;
  if (/\bsteps?\b|main points/.test(q) && items < 2 && answer.split(/[;,]/).length < 3) return 0.6;
  if (/^how (?:many|much|long|often|large|big)\b/.test(q) && !/\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|once|twice|several|few|many|all|no)\b/i.test(answer)) return 0.6;
  if (/^when\b/.test(q) && !/\d|\b(?:before|after|during|while|when|once|until|whenever|at|on|every|daily|weekly|first|then|always|never|if)\b/i.test(answer)) return 0.7;
  if (/^why\b/.test(q) && !/\b(?:because|since|so|to|as|due|in order|therefore|avoid|prevent|ensure|lets?|allows?|need|otherwise)\b/i.test(answer)) return 0.8;
  return 1;
}

// A sentence cannot end on these words: an answer that does was cut off.
const DANGLING = new Set(
  ("a an the and or but nor of to in on at by for with from into as than that which who whose whom if " +
    "is are was were be been has have had will would can could should may might must its their your our this these those").split(" "),
);

/** Lower-cased text a reader sees, line breaks kept (they end list items): links and emphasis dropped. */
const readable = (s: string) => s.replace(LINK, "$1").replace(/[*_`]+/g, "").toLowerCase().replace(/[ \t\f\v\u00a0]+/g, " ");

/** One line of text with list markers dropped, so an answer written as "- item" lines meets its "* item" quote. */
const unlist = (s: string) => s.replace(/(^|\n)\s*(?:[-*+]|\d+[.)])\s+/g, "$1").replace(/\s+/g, " ").trim();

export function isTruncated(answer: string, evidence: string, context: string): boolean {
  const a = readable(answer).trim();
  // An end mark, possibly inside closing quotes or brackets; a bare ")" ends code like `key()`, not a sentence.
  if (!a || /[.!?:]["'\])]*$/.test(a)) return false;
  const lastWord = a.match(/[\p{L}\p{N}'-]+$/u)?.[0] ?? "";
  if (/[,;(\-–—]$/.test(a) || DANGLING.has(lastWord)) return true;
  const flatAnswer = unlist(a);
  // The answer is the start of its own quote and stops before it does (a sentence or a list cut short).
  const flatEvidence = unlist(readable(evidence));
  if (flatEvidence.startsWith(flatAnswer) && flatEvidence.slice(flatAnswer.length).split(" ").filter(Boolean).length >= 2) return true;
  // Where the answer's last words stand in the chunk, the text must stop there too: an end mark, or a line
  // end followed by a new block (list item, blank line, heading) rather than a hard-wrapped continuation.
  const tail = flatAnswer.split(" ").slice(-6).join(" ");
  if (tail.length < 12) return false;
  const ctx = readable(context);
  const flat = ctx.replace(/\s+/g, " ");
  let at = flat.indexOf(tail);
  if (at < 0) return false; // paraphrased: nothing to compare against
  while (at >= 0) {
    const next = flat.slice(at + tail.length, at + tail.length + 2);
    if (!/^ ?[\p{L}\p{N}(]/u.test(next)) return false;
    at = flat.indexOf(tail, at + 1);
  }
  const lines = context.split("\n");
  const last = tail.split(" ").at(-1)!;
  return !lines.some((line, i) => readable(line).trimEnd().endsWith(last) && /^\s*(?:$|[-*+]\s|\d+[.)]\s|#|```|~~~|\||<)/.test(lines[i + 1] ?? ""));
}

const DEFINITION_QUESTION = /^what (?:is|are|was|were) (?:an? |the )?(.+?)\s*\?$/i;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * "What is X?" is answered by a sentence that says what X is ("X is …", "An X is …"). When the chunk holds
 * such a sentence and the answer is not one, the answer is about something else that merely names X.
 */
function definitionFit(question: string, answer: string, context: string): number {
  const m = DEFINITION_QUESTION.exec(question.trim());
  if (!m) return 1;
  const subject = readable(m[1]!).replace(/['"]/g, "").trim();
  if (!subject) return 1;
  const defines = new RegExp(`(?:^|[.!?]\\s+|\\n)\\W*(?:an? |the )?${escapeRegExp(subject)}\\W*\\s+(?:is|are|was|were|means|refers|stands|provides|lets|allows|can|does|has)\\b`, "i");
  const clean = (s: string) => readable(s).replace(/['"]/g, "");
  return defines.test(clean(context)) && !defines.test(clean(answer)) ? 0.5 : 1;
}

export function answerFit(pair: { question: string; answer: string; evidence: string; context?: string }): AnswerFit {
  const context = pair.context ?? "";
  const truncated = isTruncated(pair.answer, pair.evidence, context);
  const f = focus(pair.question, context);
  let fit = 1;
  if (f) {
    const seen = new Set([...units(pair.answer), ...units(pair.evidence)]);
    // "Main points about X" / "steps to X": X is often the section's heading, not a word of the list.
    if (HEADING_QUESTION.test(pair.question)) {
      const at = context.indexOf(pair.evidence);
      if (at >= 0) for (const t of units(headingAbove(context, at))) seen.add(t);
    }
    fit = Math.min(1, (f.cover(seen) + SMOOTHING) / (f.best + SMOOTHING));
  }
  fit *= definitionFit(pair.question, pair.answer, context);
  fit *= formFit(pair.question, pair.answer);
  return { fit: Math.round(fit * 1000) / 1000, truncated };
}
