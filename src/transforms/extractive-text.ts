// Reads the structure of a chunk for the extractive generator: prose sentences and lists with exact
// offsets, skipping headings (kept as topics), code blocks, tables and other noise.

export interface Sentence {
  /** Exact text as it stands in the chunk. */
  raw: string;
  start: number;
  end: number;
  /** Nearest heading above it, if any. */
  heading?: string;
}

export interface ListBlock {
  /** Exact text of all items, as in the chunk. */
  raw: string;
  start: number;
  end: number;
  items: string[];
  numbered: boolean;
  heading?: string;
  /** The sentence that introduces the list (usually ends with ":"), if any. */
  lead?: Sentence;
}

export interface ChunkStructure { sentences: Sentence[]; lists: ListBlock[] }

const HEADING = /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/;
const LIST_ITEM = /^\s*(?:[-*+]|(\d{1,3})[.)])\s+(.+)$/;
const FENCE = /^\s*(```|~~~)/;
const TABLE = /^\s*\|/;
const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });

interface Line { text: string; start: number; end: number }

function lines(text: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  for (const piece of text.split("\n")) {
    out.push({ text: piece, start, end: start + piece.length });
    start += piece.length + 1;
  }
  return out;
}

/** Markdown emphasis, inline code marks and link syntax removed, whitespace collapsed: text a reader sees. */
export function plain(text: string): string {
  return text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/(\*\*|__)(.+?)\1/g, "$2")
    .replace(/(^|[\s(])[*_]([^*_\s][^*_]*?)[*_](?=[\s).,;:!?]|$)/g, "$1$2")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
}

export function parseChunk(text: string): ChunkStructure {
  const sentences: Sentence[] = [];
  const lists: ListBlock[] = [];
  let heading: string | undefined;
  let inFence = false;
  let paragraph: Line[] = [];
  let list: { lines: Line[]; numbered: boolean; lead?: Sentence; heading?: string } | null = null;

  const flushParagraph = (): void => {
    if (!paragraph.length) return;
    const start = paragraph[0]!.start;
    const end = paragraph[paragraph.length - 1]!.end;
    // Hard-wrapped lines: the segmenter would end a sentence at every line break, so it sees the
    // paragraph with line breaks as spaces (same length, so offsets still point into the real text).
    const slice = text.slice(start, end).replace(/\r?\n/g, (m) => " ".repeat(m.length));
    for (const seg of segmenter.segment(slice)) {
      const lead = seg.segment.length - seg.segment.trimStart().length;
      const len = seg.segment.trim().length;
      if (!len) continue;
      const s = start + seg.index + lead;
      sentences.push({ raw: text.slice(s, s + len), start: s, end: s + len, heading });
    }
    paragraph = [];
  };
  const flushList = (): void => {
    if (!list) return;
    const first = list.lines[0]!;
    const last = list.lines[list.lines.length - 1]!;
    const startCol = first.text.length - first.text.trimStart().length;
    const items = list.lines.map((l) => plain(LIST_ITEM.exec(l.text)?.[2] ?? l.text));
    const raw = text.slice(first.start + startCol, last.end).trimEnd();
    lists.push({ raw, start: first.start + startCol, end: first.start + startCol + raw.length, items, numbered: list.numbered, heading: list.heading, lead: list.lead });
    list = null;
  };

  for (const line of lines(text)) {
    if (FENCE.test(line.text)) { flushParagraph(); flushList(); inFence = !inFence; continue; }
    if (inFence) continue;
    const h = HEADING.exec(line.text);
    if (h) { flushParagraph(); flushList(); heading = plain(h[1]!); continue; }
    if (!line.text.trim()) { flushParagraph(); flushList(); continue; }
    if (TABLE.test(line.text) || /^\s{4,}\S/.test(line.text) && !list) { flushParagraph(); flushList(); continue; }
    const item = LIST_ITEM.exec(line.text);
    if (item) {
      if (!list) {
        // The paragraph's last sentence introduces the list when it ends with a colon.
        flushParagraph();
        const prev = sentences[sentences.length - 1];
        const lead = prev && prev.raw.endsWith(":") && text.slice(prev.end, line.start).trim() === "" ? prev : undefined;
        list = { lines: [], numbered: item[1] !== undefined, lead, heading };
      }
      list.lines.push(line);
      continue;
    }
    if (list && /^\s+\S/.test(line.text)) { list.lines.push(line); continue; } // an item's continuation line
    flushList();
    paragraph.push(line);
  }
  flushParagraph();
  flushList();
  return { sentences, lists };
}
