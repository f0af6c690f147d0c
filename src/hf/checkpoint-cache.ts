// The converted-checkpoint cache: each GGUF beside a small JSON record of what it was made from (the source folder
// or hub name and each file's size and modification time), so the cache can tell a current entry from one whose
// checkpoint has changed or gone. A new conversion of a checkpoint removes that checkpoint's older conversions
// (a 1 B model is 2–3 GB: a cache that only grows fills a disk after a few revisions), and
// `pipeline model cache` lists the rest and prunes on request.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { log } from "../log.ts";

/** What a cache entry was made from, written beside it as `<entry>.json`. */
export interface CacheRecord {
  /** The checkpoint folder, absolute. */
  source: string;
  /** The Hugging Face name it was resolved from, if any. */
  repo?: string;
  converterVersion: number;
  /** Every source file with its size and mtime when converted. */
  files: Array<{ path: string; size: number; mtimeMs: number }>;
  created: string;
}

export type EntryState = "current" | "stale" | "source gone" | "unlabelled" | "partial";

export interface CacheEntry {
  /** The .gguf (or .partial) path. */
  path: string;
  bytes: number;
  /** When it was last used (the record's mtime, touched on each use), else the file's. */
  lastUsed: Date;
  state: EntryState;
  record?: CacheRecord;
}

const recordPath = (gguf: string) => gguf.replace(/\.gguf$/, ".json");

export function fileStamps(files: string[]): CacheRecord["files"] {
  return files.map((path) => {
    const s = statSync(path);
    return { path, size: s.size, mtimeMs: Math.round(s.mtimeMs) };
  });
}

export function writeCacheRecord(gguf: string, record: CacheRecord): void {
  writeFileSync(recordPath(gguf), JSON.stringify(record, null, 2) + "\n");
}

/** Marks an entry as used now, so `list` shows when each was last needed. */
export function touchCacheEntry(gguf: string): void {
  const rec = recordPath(gguf);
  const now = new Date();
  try { utimesSync(existsSync(rec) ? rec : gguf, now, now); } catch { /* a read-only cache still serves */ }
}

function readRecord(gguf: string): CacheRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(gguf), "utf8")) as CacheRecord;
  } catch {
    return undefined;
  }
}

/** Whether the record's files are all still there, unchanged, under this converter version. */
function stateOf(record: CacheRecord | undefined, converterVersion: number): EntryState {
  if (!record) return "unlabelled";
  if (!existsSync(record.source)) return "source gone";
  if (record.converterVersion !== converterVersion) return "stale";
  for (const f of record.files) {
    let s;
    try { s = statSync(f.path); } catch { return "stale"; }
    if (s.size !== f.size || Math.round(s.mtimeMs) !== f.mtimeMs) return "stale";
  }
  return "current";
}

/** Every entry of the cache folder, newest use first. */
export function listCache(dir: string, converterVersion: number): CacheEntry[] {
  if (!existsSync(dir)) return [];
  const out: CacheEntry[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name.endsWith(".gguf.partial")) {
      const s = statSync(path);
      out.push({ path, bytes: s.size, lastUsed: s.mtime, state: "partial" });
    } else if (name.endsWith(".gguf")) {
      const s = statSync(path);
      const record = readRecord(path);
      const used = record ? statSync(recordPath(path)).mtime : s.mtime;
      out.push({ path, bytes: s.size, lastUsed: used, state: stateOf(record, converterVersion), ...(record ? { record } : {}) });
    }
  }
  return out.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
}

/** A .partial not written to for this long belongs to a run that died (a live writer touches it continuously). */
const DEAD_PARTIAL_MS = 10 * 60_000;

/**
 * Removes what cannot be used again: entries whose checkpoint changed or is gone, entries without a record (made
 * before records existed; re-converted on next use) and dead partial files. `all` removes every entry.
 */
export function pruneCache(dir: string, converterVersion: number, o: { all?: boolean; now?: number } = {}): CacheEntry[] {
  const now = o.now ?? Date.now();
  const removed: CacheEntry[] = [];
  for (const e of listCache(dir, converterVersion)) {
    const dead = e.state === "partial" ? now - e.lastUsed.getTime() > DEAD_PARTIAL_MS : e.state !== "current";
    if (!o.all && !dead) continue;
    if (o.all && e.state === "partial" && !dead) continue; // a conversion running now keeps its file
    rmSync(e.path, { force: true });
    if (e.state !== "partial") rmSync(recordPath(e.path), { force: true });
    removed.push(e);
  }
  return removed;
}

/** After `keep` was converted from `record.source`: the same checkpoint's older conversions go. */
export function removeOlderConversions(dir: string, keep: string, record: CacheRecord, converterVersion: number): void {
  for (const e of listCache(dir, converterVersion)) {
    if (e.path === keep || !e.record || e.record.source !== record.source || e.record.repo !== record.repo) continue;
    rmSync(e.path, { force: true });
    rmSync(recordPath(e.path), { force: true });
    log.info(`removed ${basename(e.path)} (${(e.bytes / 1e6).toFixed(0)} MB), the earlier conversion of the same checkpoint`);
  }
}
