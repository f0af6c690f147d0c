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
  const parts = [text];
  joinHyphenatedParts(parts, counts);
  return parts[0]!;
}

/**
 * joinHyphenated over a document held as parts (its pages), in place: the same result as on their text joined by
 * blank lines, since neither a line-end hyphen nor a word spans a blank line — and no copy of the whole text is made.
 */
function joinHyphenatedParts(parts: string[], counts: CleanCounts): void {
  // The joined words to look for first (few), then one pass over the document's words keeping only those: an array
  // of every word of a 2,000-page manual would cost tens of MB at once.
  const wanted = new Set<string>();
  for (const part of parts) for (const m of part.matchAll(LINE_END_HYPHEN)) wanted.add(`${m[1]}${m[2]}`.toLowerCase());
  if (!wanted.size) return;
  const words = new Set<string>();
  const word = /\p{L}+/gu;
  for (const part of parts) {
    for (let m = word.exec(part); m; m = word.exec(part)) {
      const w = m[0].toLowerCase();
      if (wanted.has(w)) words.add(w);
    }
  }
  for (let i = 0; i < parts.length; i++) {
    parts[i] = parts[i]!.replace(LINE_END_HYPHEN, (whole, a: string, b: string) => {
      if (!words.has(`${a}${b}`.toLowerCase())) return whole;
      counts.hyphenJoins++;
      return `${a}${b}`;
    });
  }
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
  const out = [...pages];
  return dropRunningLinesInPlace(out, counts) ? out : pages;
}

/** The lines of a page that may be running lines: its first and last, and page numbers near either end. */
function edges(ls: string[]): Set<number> {
  const idx = ls.map((l, i) => (l.trim() ? i : -1)).filter((i) => i >= 0);
  const near = [...idx.slice(0, 2), ...idx.slice(-2)].filter((i) => PAGE_NUMBER.test(lineKey(ls[i]!)));
  return new Set([...idx.slice(0, 1), ...idx.slice(-1), ...near]);
}

/**
 * dropRunningLines, rewriting `pages` in place (false: nothing dropped). Each page is split into lines twice — once
 * to count, once to drop — rather than all pages' lines held at once: for a 2,000-page manual those line arrays
 * cost several times its text.
 */
function dropRunningLinesInPlace(pages: string[], counts: CleanCounts): boolean {
  if (pages.length < 3) return false;
  const seen = new Map<string, number>();
  for (const page of pages) {
    const ls = page.split("\n");
    const keys = new Set([...edges(ls)].map((i) => lineKey(ls[i]!)));
    for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  const need = Math.max(3, Math.ceil(0.6 * pages.length));
  // Running titles and footers are short; a long line that repeats (digits aside) is body text laid out alike.
  const running = new Set([...seen].filter(([k, n]) => n >= need && k.length > 0 && k.length <= MAX_RUNNING_LINE).map(([k]) => k));
  if (!running.size) return false;
  for (let p = 0; p < pages.length; p++) {
    const ls = pages[p]!.split("\n");
    const drop = new Set([...edges(ls)].filter((i) => running.has(lineKey(ls[i]!))));
    counts.headerLines += drop.size;
    if (drop.size) pages[p] = ls.filter((_, i) => !drop.has(i)).join("\n");
  }
  return true;
}

/**
 * A document's text with the cleanups in `on`; `pages` (PDFs) lets running headers and footers go first. `pages` is
 * consumed (emptied): each page is cleaned in place and the text is joined once, so a big PDF's text is held about
 * twice at most (its pages and the joined text), never once per cleanup.
 */
export function cleanDocument(input: { text?: string; pages?: string[] }, on: ReadonlySet<Cleanup>, counts: CleanCounts): string {
  const pages = input.pages;
  if (!pages) {
    let text = input.text ?? "";
    if (on.has("ligatures")) text = fixLigatures(text, counts);
    if (on.has("hyphens")) text = joinHyphenated(text, counts);
    return text;
  }
  if (on.has("headers")) dropRunningLinesInPlace(pages, counts);
  // Trimmed, empty pages left out, ligatures per page: the same as on the joined text (they are per character).
  let n = 0;
  for (let i = 0; i < pages.length; i++) {
    let page = pages[i]!.trim();
    pages[i] = "";
    if (!page) continue;
    if (on.has("ligatures")) page = fixLigatures(page, counts);
    pages[n++] = page;
  }
  pages.length = n;
  if (on.has("hyphens")) joinHyphenatedParts(pages, counts);
  const text = pages.join("\n\n");
  pages.length = 0;
  return text;
}
