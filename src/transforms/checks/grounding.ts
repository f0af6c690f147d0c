// Grounding checks: is the evidence quote really in the source chunk, and is the answer supported by it?
import { contentWords, normalizeText, stem } from "./normalize.ts";

/** Trim quote marks, ellipses and punctuation models like to add around a quote. */
function quoteParts(evidence: string): string[] {
  return normalizeText(evidence)
    .split(/\s*(?:\.\.\.|…|\[\.\.\.\])\s*/)
    .map((p) => p.replace(/^[\s"'“”‘’.,;:!?-]+|[\s"'“”‘’.,;:!?-]+$/g, ""))
    .filter((p) => p.length > 0);
}

/**
 * True when every part of the evidence (parts split at an ellipsis) occurs in the chunk, in order,
 * after whitespace/case/quote normalisation. An empty or trivially short quote is not evidence.
 */
export function evidenceFound(evidence: string, context: string): boolean {
  const parts = quoteParts(evidence);
  if (!parts.length || parts.join(" ").length < 8) return false;
  const haystack = normalizeText(context);
  let from = 0;
  for (const part of parts) {
    const at = haystack.indexOf(part, from);
    if (at < 0) return false;
    from = at + part.length;
  }
  return true;
}

/** Share (0–1) of the answer's content words (stemmed) that occur in the chunk. */
export function answerSupport(answer: string, context: string): number {
  const answerWords = contentWords(answer).map(stem);
  if (!answerWords.length) return 0;
  const source = new Set(contentWords(context).map(stem));
  let hit = 0;
  for (const w of answerWords) if (source.has(w)) hit++;
  return hit / answerWords.length;
}

/** The share of answer content words that must come from the chunk for the answer to count as supported. */
export const SUPPORT_THRESHOLD = 0.7;

export interface GroundingResult { grounded: boolean; supported: boolean; support: number }

export function checkGrounding(evidence: string, answer: string, context: string): GroundingResult {
  const support = answerSupport(answer, context);
  return { grounded: evidenceFound(evidence, context), supported: support >= SUPPORT_THRESHOLD, support };
}

/** Where the evidence sits in the chunk (exact, then case/space-insensitive), as [start, end) or undefined. */
export function locateEvidence(evidence: string, context: string): [number, number] | undefined {
  const quote = evidence.trim();
  if (!quote) return undefined;
  const exact = context.indexOf(quote);
  if (exact >= 0) return [exact, exact + quote.length];
  // Fall back to a regex that lets any whitespace run match any whitespace run, ignoring case.
  const pattern = quote.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
  try {
    const m = new RegExp(pattern, "iu").exec(context);
    if (m) return [m.index, m.index + m[0].length];
  } catch {
    return undefined;
  }
  return undefined;
}
