// Language check: a pair should be in its chunk's language (tinyld: pure JS, no model download).
import { detect } from "tinyld";

// Words that are common in English and rare in other languages' running text: a cheap, safe fast path
// for the usual case, so tinyld (about half a millisecond per call) only runs on the rest.
const ENGLISH = new Set("the and of to is are was were with that for this from how what which you it be by on an or not can does do when where why who has have its".split(" "));

function looksEnglish(text: string): boolean {
  const words = text.toLowerCase().match(/[\p{L}']+/gu) ?? [];
  if (words.length < 4 || /[^\u0000-\u024f\s\p{P}\p{N}\p{S}]/u.test(text)) return false;
  let hits = 0;
  for (const w of words) if (ENGLISH.has(w)) hits++;
  return hits / words.length >= 0.2;
}

/** ISO 639-1 code, or "" when the text is too short or unclear to tell. */
export function detectLanguage(text: string): string {
  if (looksEnglish(text.length > 400 ? text.slice(0, 400) : text)) return "en";
  // Two hundred characters decide the language about as well as thousands, at a fraction of the cost
  // (tinyld's time grows faster than linearly with length: ~2 ms for 600 characters, ~0.4 ms for 200).
  const sample = text.length > 200 ? text.slice(0, text.lastIndexOf(" ", 200) > 100 ? text.lastIndexOf(" ", 200) : 200) : text;
  if (sample.replace(/[^\p{L}]/gu, "").length < 12) return "";
  return detect(sample) || "";
}

export interface LanguageResult { language: string; languageMatches?: boolean }

// Pairs of one chunk arrive together: remember the last few chunks' languages instead of detecting again.
const recent = new Map<string, string>();
function contextLanguage(context: string): string {
  const hit = recent.get(context);
  if (hit !== undefined) return hit;
  const lang = detectLanguage(context);
  if (recent.size >= 32) recent.delete(recent.keys().next().value!);
  recent.set(context, lang);
  return lang;
}

/** The pair's language and whether it matches the chunk's; unknown on either side means "not judged". */
export function checkLanguage(question: string, answer: string, context: string | undefined): LanguageResult {
  const language = detectLanguage(`${question} ${answer}`);
  if (!context) return { language };
  const source = contextLanguage(context);
  if (!language || !source) return { language };
  return { language, languageMatches: language === source };
}
