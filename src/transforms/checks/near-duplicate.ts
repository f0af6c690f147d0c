// Near-duplicate questions across a whole dataset, streaming: MinHash signatures + LSH banding.
// Written here rather than taken from npm because the index must stay small and flat in memory for
// 100k+ questions (typed arrays and one numeric Map, no per-question strings beyond the id).
import { normalizeText } from "./normalize.ts";

export interface NearDuplicateOptions {
  /** Estimated Jaccard similarity (word 1- and 2-grams) at or above which two questions are duplicates. */
  threshold?: number;
  /** LSH bands × rows per band = hashes per signature. */
  bands?: number;
  rows?: number;
}

const PAGE = 1024;

/** FNV-1a over a string, 32-bit. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit integer mix (murmur3 finaliser), seeded: one independent-enough hash per signature slot. */
function mix(x: number, seed: number): number {
  let h = (x ^ seed) >>> 0;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function shingles(text: string): number[] {
  const w = normalizeText(text).replace(/[^\p{L}\p{N}\s]/gu, " ").split(/\s+/).filter(Boolean);
  if (!w.length) return [fnv1a(text)];
  const out = new Set<number>();
  for (let i = 0; i < w.length; i++) {
    out.add(fnv1a(w[i]!));
    if (i + 1 < w.length) out.add(fnv1a(`${w[i]} ${w[i + 1]}`));
  }
  return [...out];
}

export class NearDuplicateIndex {
  readonly threshold: number;
  private readonly bands: number;
  private readonly rows: number;
  private readonly size: number;
  private readonly seeds: Uint32Array;
  private readonly pages: Uint32Array[] = [];
  private readonly ids: string[] = [];
  private readonly buckets = new Map<number, number>();

  constructor(opts: NearDuplicateOptions = {}) {
    this.threshold = opts.threshold ?? 0.8;
    this.bands = opts.bands ?? 8;
    this.rows = opts.rows ?? 4;
    this.size = this.bands * this.rows;
    this.seeds = new Uint32Array(this.size);
    for (let i = 0; i < this.size; i++) this.seeds[i] = mix(i + 1, 0x9e3779b9);
  }

  get count(): number { return this.ids.length; }

  signature(text: string): Uint32Array {
    const sig = new Uint32Array(this.size).fill(0xffffffff);
    for (const s of shingles(text)) {
      for (let i = 0; i < this.size; i++) {
        const h = mix(s, this.seeds[i]!);
        if (h < sig[i]!) sig[i] = h;
      }
    }
    return sig;
  }

  /** Share of equal slots: the MinHash estimate of Jaccard similarity. */
  similarity(a: Uint32Array, b: Uint32Array): number {
    let same = 0;
    for (let i = 0; i < this.size; i++) if (a[i] === b[i]) same++;
    return same / this.size;
  }

  /**
   * The id of an earlier question this one nearly duplicates (the first one seen), or null; either way
   * the question is added. Call in dataset order: the answer depends only on the questions before it.
   */
  check(id: string, question: string): string | null {
    const sig = this.signature(question);
    const keys: number[] = [];
    let match: string | null = null;
    const tested = new Set<number>();
    for (let b = 0; b < this.bands; b++) {
      let h = mix(b + 1, 0x27d4eb2f);
      for (let r = 0; r < this.rows; r++) h = mix(h ^ sig[b * this.rows + r]!, 0x165667b1);
      keys.push(h);
      const earlier = this.buckets.get(h);
      if (match === null && earlier !== undefined && !tested.has(earlier)) {
        tested.add(earlier);
        if (this.similarity(sig, this.signatureAt(earlier)) >= this.threshold) match = this.ids[earlier]!;
      }
    }
    const index = this.ids.length;
    this.ids.push(id);
    const page = index / PAGE | 0;
    if (!this.pages[page]) this.pages[page] = new Uint32Array(PAGE * this.size);
    this.pages[page]!.set(sig, (index % PAGE) * this.size);
    for (const k of keys) if (!this.buckets.has(k)) this.buckets.set(k, index);
    return match;
  }

  private signatureAt(index: number): Uint32Array {
    const off = (index % PAGE) * this.size;
    return this.pages[index / PAGE | 0]!.subarray(off, off + this.size);
  }
}
