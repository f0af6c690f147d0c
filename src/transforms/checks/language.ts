// Language check: a pair should be in its chunk's language (tinyld: pure JS, no model download).
import { detect } from "tinyld";

/** ISO 639-1 code, or "" when the text is too short or unclear to tell. */
export function detectLanguage(text: string): string {
  const sample = text.length > 2000 ? text.slice(0, 2000) : text;
  if (sample.replace(/[^\p{L}]/gu, "").length < 12) return "";
  return detect(sample) || "";
}

export interface LanguageResult { language: string; languageMatches?: boolean }

/** The pair's language and whether it matches the chunk's; unknown on either side means "not judged". */
export function checkLanguage(question: string, answer: string, context: string | undefined): LanguageResult {
  const language = detectLanguage(`${question} ${answer}`);
  if (!context) return { language };
  const source = detectLanguage(context);
  if (!language || !source) return { language };
  return { language, languageMatches: language === source };
}
