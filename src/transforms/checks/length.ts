// Length bounds: a question or answer too short to teach anything, or too long to be one pair.
import { words } from "./normalize.ts";

export type LengthVerdict = "ok" | "too_short" | "too_long";

export const LENGTH_BOUNDS = { questionMinWords: 3, questionMaxWords: 60, answerMinWords: 2, answerMaxWords: 400 } as const;

export function checkLength(question: string, answer: string): LengthVerdict {
  const q = words(question).length;
  const a = words(answer).length;
  if (q < LENGTH_BOUNDS.questionMinWords || a < LENGTH_BOUNDS.answerMinWords) return "too_short";
  if (q > LENGTH_BOUNDS.questionMaxWords || a > LENGTH_BOUNDS.answerMaxWords) return "too_long";
  return "ok";
}
