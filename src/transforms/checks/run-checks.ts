// Runs every heuristic check validate makes on a pair, for free: grounding, length, language, whether the answer
// fits the question and is whole (duplicates need the index).
import type { Checks } from "../../records.ts";
import { answerFit } from "./answer-fit.ts";
import { checkGrounding } from "./grounding.ts";
import { checkLanguage } from "./language.ts";
import { checkLength } from "./length.ts";

export interface PairChecks extends Checks { support: number }

/** All per-pair checks; `duplicateOf` comes from the dataset-wide index and is passed in. */
export function runChecks(pair: { question: string; answer: string; evidence: string; context?: string }, duplicateOf: string | null): PairChecks {
  const context = pair.context ?? "";
  const g = checkGrounding(pair.evidence, pair.answer, context);
  const lang = checkLanguage(pair.question, pair.answer, pair.context);
  const fit = answerFit(pair);
  return {
    grounded: g.grounded,
    supported: g.supported,
    support: Math.round(g.support * 1000) / 1000,
    duplicateOf,
    length: checkLength(pair.question, pair.answer),
    language: lang.language || undefined,
    languageMatches: lang.languageMatches,
    answerFit: fit.fit,
    truncated: fit.truncated,
  };
}
