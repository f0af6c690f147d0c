// Text normalisation shared by the grounding, duplicate and scoring checks: case, quotes, dashes, spaces.

/** Lower-cased, NFKC, typographic quotes and dashes made plain, markdown emphasis dropped, whitespace collapsed. */
export function normalizeText(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\u2018\u2019\u201A\u201B\u2032`´]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033«»]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, "-")
    .replace(/\*\*|__|'(?=')/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'_-]*/gu;

/** Words of a text, normalised, in order. */
export function words(text: string): string[] {
  return normalizeText(text).match(WORD) ?? [];
}

// Function words carry no content: a pair is "supported" by the content words it shares with its source.
const STOPWORDS = new Set(
  ("a an the and or but if then else of to in on at by for with from into onto as is are was were be been being " +
    "it its this that these those there here which who whom whose what when where why how do does did done " +
    "can could should would will shall may might must not no yes so than too very just also only such " +
    "you your yours we our us they them their he she his her i me my mine one ones any some all each every " +
    "about above below over under between after before again more most other same own up down out off").split(" "),
);

/** Content words: words that are not function words and not one character long. */
export function contentWords(text: string): string[] {
  return words(text).filter((w) => w.length > 1 && !STOPWORDS.has(w));
}

/** A word reduced to a rough stem so "splits"/"split"/"splitting" meet; cheap, language-agnostic enough. */
export function stem(word: string): string {
  if (word.length <= 4) return word;
  return word.replace(/(?:ing|edly|ed|es|s|ly)$/u, "");
}
