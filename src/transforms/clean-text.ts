// Text cleanups for extracted documents (issue 19 § 2), each on by default, each countable and switchable off:
//   ligatures  ﬁ ﬂ ﬀ ﬃ ﬄ ﬅ ﬆ as their letters, soft hyphens (U+00AD) removed;
//   hyphens    a word split by a line-end hyphen ("specifi-\ncation") joined when the joined word is a word of the
//              same document; a real compound ("long-\nterm", with "long-term" or no "longterm" elsewhere) is kept;
//   headers    (PDF pages) lines that stand at the top or bottom of most pages — running titles, "Page 3 of 40",
//              bare page numbers — dropped.
// The cleaned text is the document's text, so chunk offsets stay exact against it.

export type Cleanup = "ligatures" | "hyphens" | "headers";
export const CLEANUPS: readonly Cleanup[] = ["ligatures", "hyphens", "headers"];

export interface CleanCounts { ligatures: number; softHyphens: number; hyphenJoins: number; headerLines: number }
export const emptyCleanCounts = (): CleanCounts => ({ ligatures: 0, softHyphens: 0, hyphenJoins: 0, headerLines: 0 });

const LIGATURES: Record<string, string> = { "\uFB00": "ff", "\uFB01": "fi", "\uFB02": "fl", "\uFB03": "ffi", "\uFB04": "ffl", "\uFB05": "st", "\uFB06": "st" };

export function fixLigatures(text: string, counts: CleanCounts): string {
  return text
    .replace(/[\uFB00-\uFB06]/g, (l) => { counts.ligatures++; return LIGATURES[l]!; })
    .replace(/\u00AD/g, () => { counts.softHyphens++; return ""; });
}

const LINE_END_HYPHEN = /(\p{L}{2,})-[ \t]*\r?\n[ \t]*(\p{Ll}+)/gu;

export function joinHyphenated(text: string, counts: CleanCounts): string {
  // The joined words to look for first (few), then one pass over the document's words keeping only those: an array
  // of every word of a 2,000-page manual would cost tens of MB at once.
  const wanted = new Set<string>();
  for (const m of text.matchAll(LINE_END_HYPHEN)) wanted.add(`${m[1]}${m[2]}`.toLowerCase());
  if (!wanted.size) return text;
  const words = new Set<string>();
  const word = /\p{L}+/gu;
  for (let m = word.exec(text); m; m = word.exec(text)) {
    const w = m[0].toLowerCase();
    if (wanted.has(w)) words.add(w);
  }
  return text.replace(LINE_END_HYPHEN, (whole, a: string, b: string) => {
    if (!words.has(`${a}${b}`.toLowerCase())) return whole;
    counts.hyphenJoins++;
    return `${a}${b}`;
  });
}

/** The same running line on every page: digits stand for any number ("Page 3 of 40" = "Page 4 of 40"). */
const lineKey = (line: string) => line.trim().toLowerCase().replace(/\d+/g, "#").replace(/\s+/g, " ");
const MAX_RUNNING_LINE = 80;
const PAGE_NUMBER = /^\W*(?:page\s*)?#(?:\s*(?:of|\/)\s*#)?\W*$/;

/**
 * Pages without the lines that repeat at their edge on at least 60% of them (3 pages or more): the first and the
 * last line of a page (running title, footer), and a page number within two lines of either end.
 */
export function dropRunningLines(pages: string[], counts: CleanCounts): string[] {
  if (pages.length < 3) return pages;
  const lines = pages.map((p) => p.split("\n"));
  const edges = (ls: string[]) => {
    const idx = ls.map((l, i) => (l.trim() ? i : -1)).filter((i) => i >= 0);
    const near = [...idx.slice(0, 2), ...idx.slice(-2)].filter((i) => PAGE_NUMBER.test(lineKey(ls[i]!)));
    return new Set([...idx.slice(0, 1), ...idx.slice(-1), ...near]);
  };
  const seen = new Map<string, number>();
  lines.forEach((ls) => {
    const keys = new Set([...edges(ls)].map((i) => lineKey(ls[i]!)));
    for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
  });
  const need = Math.max(3, Math.ceil(0.6 * pages.length));
  // Running titles and footers are short; a long line that repeats (digits aside) is body text laid out alike.
  const running = new Set([...seen].filter(([k, n]) => n >= need && k.length > 0 && k.length <= MAX_RUNNING_LINE).map(([k]) => k));
  if (!running.size) return pages;
  return lines.map((ls) => {
    const drop = new Set([...edges(ls)].filter((i) => running.has(lineKey(ls[i]!))));
    counts.headerLines += drop.size;
    return ls.filter((_, i) => !drop.has(i)).join("\n");
  });
}

/** A document's text with the cleanups in `on`; `pages` (PDFs) lets running headers and footers go first. */
export function cleanDocument(input: { text?: string; pages?: string[] }, on: ReadonlySet<Cleanup>, counts: CleanCounts): string {
  let pages = input.pages;
  if (pages && on.has("headers")) pages = dropRunningLines(pages, counts);
  let text = pages ? pages.map((p) => p.trim()).filter(Boolean).join("\n\n") : input.text ?? "";
  if (on.has("ligatures")) text = fixLigatures(text, counts);
  if (on.has("hyphens")) text = joinHyphenated(text, counts);
  return text;
}
