// The `tiny` model's tokenizer: a byte-fallback SentencePiece-style BPE vocabulary learned from text,
// and an encoder/decoder that reproduces llama.cpp's "llama" (SPM) tokenizer exactly.
//
// Vocabulary layout (ids): 0 <unk> (UNKNOWN), 1 <s> (CONTROL, bos), 2 </s> (CONTROL, eos),
// 3.. extra special tokens such as <|im_start|> <|im_end|> (CONTROL), then the 256 byte tokens
// <0x00>..<0xFF> (BYTE), then single characters, then merges (score = -merge rank, so earlier
// merges win). Spaces are stored as ▁ (U+2581). tokenizer.ggml.add_space_prefix is false: no
// space is invented before the text, so encode(a + b) splits only where the text does.
// Encoding follows llama_vocab's llm_tokenizer_spm: split into UTF-8 characters, repeatedly merge
// the adjacent pair whose concatenation is a token with the highest score (ties: leftmost), and
// emit byte tokens for any symbol that is not in the vocabulary.
import { PipelineError } from "../errors.ts";

export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface SpmVocab {
  tokens: string[];
  scores: number[];
  types: number[];
  bos: number;
  eos: number;
  unk: number;
  /** Set when the vocabulary has it: <|im_end|> and friends end a turn. */
  eot?: number;
  addSpacePrefix: boolean;
}

export interface TrainSpmOptions {
  /** Total vocabulary size including specials and the 256 byte tokens (default 1024). */
  vocabSize?: number;
  /** Extra control tokens after <unk> <s> </s> (default ChatML's <|im_start|> <|im_end|>). */
  specials?: string[];
  /** Characters seen fewer times than this fall back to bytes (default 2). */
  minCharCount?: number;
  /** Longest merged token in characters (default 16). */
  maxTokenChars?: number;
  /** Only this many characters of the text are used for learning (default 2,000,000). */
  maxTrainChars?: number;
}

const SPACE = "\u2581";
/** Words as the trainer sees them: ▁-prefixed runs; line breaks and tabs on their own. */
const SEGMENT = /[\r\n]+|\t+|▁*[^▁\r\n\t]+|▁+/g;
const escape = (s: string) => s.replaceAll(" ", SPACE);
const byteToken = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;

/** Learn a vocabulary by byte-pair merges over ▁-prefixed words. Deterministic for a given text. */
export function trainSpmVocab(text: string, opts: TrainSpmOptions = {}): SpmVocab {
  const vocabSize = opts.vocabSize ?? 1024;
  const specials = opts.specials ?? ["<|im_start|>", "<|im_end|>"];
  const minChar = opts.minCharCount ?? 2;
  const maxChars = opts.maxTokenChars ?? 16;
  const sample = escape(text.slice(0, opts.maxTrainChars ?? 2_000_000));

  const tokens: string[] = ["<unk>", "<s>", "</s>", ...specials];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, ...specials.map(() => TokenType.CONTROL)];
  const scores: number[] = tokens.map(() => 0);
  for (let b = 0; b < 256; b++) { tokens.push(byteToken(b)); types.push(TokenType.BYTE); scores.push(0); }
  const fixed = tokens.length;
  if (vocabSize > 32768) throw new PipelineError("E_CONFIG", `tokenizer vocabulary size ${vocabSize} is too large for the built-in tokenizer (at most 32768)`);
  if (vocabSize < fixed + 1) throw new PipelineError("E_CONFIG", `tokenizer vocabulary size ${vocabSize} is too small: ${fixed} ids are taken by special and byte tokens`);
  const taken = new Set(tokens);
  const add = (t: string, score: number) => { taken.add(t); tokens.push(t); types.push(TokenType.NORMAL); scores.push(score); };

  // Characters by frequency (ties by code point) — rare ones are left to byte fallback.
  const charCount = new Map<string, number>();
  for (const ch of sample) charCount.set(ch, (charCount.get(ch) ?? 0) + 1);
  const chars = [...charCount].filter(([c, n]) => n >= minChar && !taken.has(c)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const charBudget = Math.max(1, Math.floor((vocabSize - fixed) / 2));
  for (const [c] of chars.slice(0, charBudget)) add(c, -1e6);
  if (!taken.has(SPACE) && tokens.length < vocabSize) add(SPACE, -1e6);

  // Words: ▁-prefixed runs, with line breaks and tabs as words of their own, so no token spans the start
  // of a word or a line (a prompt ending in "\n" then tokenizes the same alone as before its answer).
  const idOf = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const wordCount = new Map<string, number>();
  for (const w of sample.match(SEGMENT) ?? []) wordCount.set(w, (wordCount.get(w) ?? 0) + 1);
  const words: Array<{ syms: number[]; n: number }> = [];
  for (const [w, n] of wordCount) {
    const syms = [...w].map((c) => idOf.get(c) ?? -1);
    if (syms.length > 1) words.push({ syms, n });
  }
  // Pair counts are kept up to date incrementally: a merge re-counts only the words that contain the pair.
  // The most frequent pair (ties: smallest key) comes off a lazy max-heap; stale entries are re-pushed
  // with their current count. A pair must occur at least twice to earn a token.
  const KEY = 32768; // a * KEY + b stays a small integer (< 2^30), which V8 hashes fastest
  const counts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const grown = new Set<number>(); // keys whose count rose since the last heap refresh
  const refresh = () => { for (const key of grown) heap.push(counts.get(key)!, key); grown.clear(); };
  /** Add (sign 1) or remove (-1) a word's pairs; `only` limits where-index updates to pairs with that id. */
  const count = (wi: number, sign: 1 | -1, only = -1) => {
    const { syms, n } = words[wi]!;
    for (let i = 0; i + 1 < syms.length; i++) {
      const a = syms[i]!, b = syms[i + 1]!;
      if (a < 0 || b < 0) continue;
      const key = a * KEY + b;
      const c = (counts.get(key) ?? 0) + sign * n;
      counts.set(key, c);
      if (sign > 0 && (only < 0 || a === only || b === only)) {
        let set = where.get(key);
        if (!set) where.set(key, (set = new Set()));
        set.add(wi);
        grown.add(key);
      }
    }
  };
  words.forEach((_, wi) => count(wi, 1));
  refresh();
  const banned = new Set<number>();
  let rank = 0;
  while (tokens.length < vocabSize && heap.size) {
    const [c, key] = heap.pop();
    const now = counts.get(key) ?? 0;
    if (banned.has(key) || now < 2) continue;
    if (c !== now) { heap.push(now, key); continue; }
    const a = Math.floor(key / KEY), b = key % KEY;
    const merged = tokens[a]! + tokens[b]!;
    if (taken.has(merged) || [...merged].length > maxChars) { banned.add(key); continue; }
    const id = tokens.length;
    add(merged, -(++rank));
    idOf.set(merged, id);
    banned.add(key);
    for (const wi of where.get(key) ?? []) {
      const s = words[wi]!.syms;
      let hit = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) { hit = true; break; }
      if (!hit) continue;
      count(wi, -1);
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) s.splice(i, 2, id);
      count(wi, 1, id);
    }
    where.delete(key);
    refresh();
  }
  const eot = specials.includes("<|im_end|>") ? 3 + specials.indexOf("<|im_end|>") : undefined;
  return { tokens, scores, types, bos: 1, eos: 2, unk: 0, eot, addSpacePrefix: false };
}

/** Max-heap of (count, key) pairs: higher count first, then smaller key (deterministic ties). */
class PairHeap {
  private c: number[] = [];
  private k: number[] = [];
  get size() { return this.c.length; }
  private before(i: number, j: number) { return this.c[i]! > this.c[j]! || (this.c[i] === this.c[j] && this.k[i]! < this.k[j]!); }
  private swap(i: number, j: number) {
    [this.c[i], this.c[j]] = [this.c[j]!, this.c[i]!];
    [this.k[i], this.k[j]] = [this.k[j]!, this.k[i]!];
  }
  push(count: number, key: number) {
    this.c.push(count);
    this.k.push(key);
    let i = this.c.length - 1;
    while (i > 0) { const p = (i - 1) >> 1; if (!this.before(i, p)) break; this.swap(i, p); i = p; }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.c[0]!, this.k[0]!];
    const lc = this.c.pop()!, lk = this.k.pop()!;
    if (this.c.length) {
      this.c[0] = lc; this.k[0] = lk;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.c.length && this.before(l, m)) m = l;
        if (r < this.c.length && this.before(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

interface Bigram { left: number; right: number; score: number; size: number }

/** Max-heap by score, then by smaller `left` — llm_bigram_spm::comparator. */
class BigramHeap {
  private h: Bigram[] = [];
  get size() { return this.h.length; }
  private before(x: Bigram, y: Bigram) { return x.score > y.score || (x.score === y.score && x.left < y.left); }
  push(b: Bigram) {
    const h = this.h;
    h.push(b);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Bigram {
    const h = this.h;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

export class SpmTokenizer {
  private idOf: Map<string, number>;
  private byteIds: number[];
  /** Special tokens llama.cpp splits out when parsing specials: longest first. */
  private specialTexts: Array<[string, number]>;
  constructor(readonly vocab: SpmVocab) {
    this.idOf = new Map();
    vocab.tokens.forEach((t, i) => this.idOf.set(t, i)); // last one wins, like llama.cpp's map
    this.byteIds = Array.from({ length: 256 }, (_, b) => {
      const id = this.idOf.get(byteToken(b));
      if (id === undefined) throw new PipelineError("E_MODEL", `tokenizer vocabulary lacks byte token ${byteToken(b)}; it cannot encode arbitrary text`);
      return id;
    });
    this.specialTexts = vocab.tokens
      .map((t, i) => [t, i] as [string, number])
      .filter(([, i]) => [TokenType.CONTROL, TokenType.USER_DEFINED, TokenType.UNKNOWN].includes(vocab.types[i] as 2 | 3 | 4))
      .sort((a, b) => Buffer.byteLength(b[0]) - Buffer.byteLength(a[0]));
    this.segmentable = vocab.tokens.every((t, i) => vocab.types[i] !== TokenType.NORMAL || t.match(SEGMENT)?.[0] === t);
  }

  /**
   * True when no normal token crosses a SEGMENT boundary (ours never do). Boundaries depend only on the two
   * characters beside them, so no bigram across one is ever in the vocabulary: segments encode
   * independently (same result as the whole text, llama.cpp's way) and repeated words come from a cache.
   */
  private readonly segmentable: boolean;
  private cache = new Map<string, number[]>();

  get vocabSize() { return this.vocab.tokens.length; }

  encode(text: string, opts: { bos?: boolean; special?: boolean } = {}): number[] {
    const out: number[] = [];
    if (opts.bos) out.push(this.vocab.bos);
    let fragments: Array<string | number> = [text];
    if (opts.special) {
      for (const [st, id] of this.specialTexts) {
        const next: Array<string | number> = [];
        for (const f of fragments) {
          if (typeof f !== "string") { next.push(f); continue; }
          const parts = f.split(st);
          parts.forEach((p, i) => { if (i) next.push(id); if (p) next.push(p); });
        }
        fragments = next;
      }
    } else {
      // USER_DEFINED tokens are split out even without special parsing (llama.cpp does the same).
      for (const [st, id] of this.specialTexts) {
        if (this.vocab.types[id] !== TokenType.USER_DEFINED) continue;
        fragments = fragments.flatMap((f) => typeof f !== "string" ? [f] : f.split(st).flatMap((p, i) => (i ? [id, ...(p ? [p] : [])] : p ? [p] : [])));
      }
    }
    let prevSpecial = true;
    for (const f of fragments) {
      if (typeof f === "number") { out.push(f); prevSpecial = true; continue; }
      const text = escape(this.vocab.addSpacePrefix && prevSpecial ? " " + f : f);
      if (!this.segmentable) this.encodeRaw(text, out);
      else for (const seg of text.match(SEGMENT) ?? []) this.encodeCached(seg, out);
      prevSpecial = false;
    }
    return out;
  }

  private encodeCached(seg: string, out: number[]): void {
    let ids = this.cache.get(seg);
    if (!ids) {
      ids = [];
      this.encodeRaw(seg, ids);
      if (this.cache.size >= 100_000) this.cache.clear();
      this.cache.set(seg, ids);
    }
    for (const id of ids) out.push(id);
  }

  private encodeRaw(text: string, out: number[]): void {
    const chars = [...text];
    if (!chars.length) return;
    const n = chars.length;
    const start = new Array<number>(n), len = new Array<number>(n);
    const prev = new Array<number>(n), next = new Array<number>(n);
    let off = 0;
    for (let i = 0; i < n; i++) {
      start[i] = off; len[i] = chars[i]!.length; off += chars[i]!.length;
      prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1;
    }
    const heap = new BigramHeap();
    const tryAdd = (l: number, r: number) => {
      if (l < 0 || r < 0) return;
      const s = text.slice(start[l]!, start[l]! + len[l]! + len[r]!);
      const id = this.idOf.get(s);
      if (id === undefined) return;
      heap.push({ left: l, right: r, score: this.vocab.scores[id]!, size: s.length });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (heap.size) {
      const b = heap.pop();
      if (len[b.left] === 0 || len[b.right] === 0 || len[b.left]! + len[b.right]! !== b.size) continue;
      len[b.left]! += len[b.right]!;
      len[b.right] = 0;
      next[b.left] = next[b.right]!;
      if (next[b.right]! >= 0) prev[next[b.right]!] = b.left;
      tryAdd(prev[b.left]!, b.left);
      tryAdd(b.left, next[b.left]!);
    }
    for (let i = 0; i !== -1; i = next[i]!) {
      const s = text.slice(start[i]!, start[i]! + len[i]!);
      const id = this.idOf.get(s);
      if (id !== undefined) { out.push(id); continue; }
      for (const byte of Buffer.from(s, "utf8")) out.push(this.byteIds[byte]!);
    }
  }

  /** Like llama.cpp's detokenize: control/unknown tokens only with `special`, bytes joined then UTF-8 decoded. */
  decode(ids: readonly number[], opts: { special?: boolean } = {}): string {
    const parts: Buffer[] = [];
    for (const id of ids) parts.push(this.piece(id, opts.special ?? false));
    return Buffer.concat(parts).toString("utf8");
  }

  private piece(id: number, special: boolean): Buffer {
    const t = this.vocab.tokens[id];
    if (t === undefined) throw new PipelineError("E_MODEL", `token id ${id} is outside the vocabulary (0..${this.vocab.tokens.length - 1})`);
    const type = this.vocab.types[id];
    if (type === TokenType.CONTROL || type === TokenType.UNKNOWN) return special ? Buffer.from(t) : Buffer.alloc(0);
    if (type === TokenType.BYTE) return Buffer.from([parseInt(t.slice(3, 5), 16)]);
    if (type === TokenType.USER_DEFINED) return Buffer.from(t);
    if (type === TokenType.NORMAL) return Buffer.from(t.replaceAll(SPACE, " "));
    return Buffer.alloc(0);
  }

  tokenText(id: number): string {
    return this.vocab.tokens[id] ?? "";
  }
}
