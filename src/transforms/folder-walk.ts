// The documents of an input folder: regular files, in name order, hidden ones left out — and nothing outside the
// folder unless asked. A symlink is followed only when it points inside the input tree (then its file is read once,
// however many links reach it, and a link back up the tree cannot loop); one that points outside is skipped with a
// warning naming it, unless --follow-symlinks. FIFOs, sockets and devices are never opened: reading a FIFO would
// hang the run, and a device is not a document.
import type { Dirent, Stats } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";

export interface WalkOptions {
  /** Read symlinks that point outside the input folder too. */
  followSymlinks?: boolean;
  warn?: (message: string) => void;
}

type Kind = "file" | "dir" | "special";
const kindOf = (s: { isFile(): boolean; isDirectory(): boolean }): Kind => (s.isFile() ? "file" : s.isDirectory() ? "dir" : "special");
const specialName = (s: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }) =>
  s.isFIFO() ? "a FIFO" : s.isSocket() ? "a socket" : s.isCharacterDevice() || s.isBlockDevice() ? "a device" : "not a regular file";

/** Input paths (files or folders) → the files to read, folders walked in name order. */
export async function listFiles(paths: string[], opts: WalkOptions = {}): Promise<string[]> {
  const warn = opts.warn ?? ((m: string) => log.warn(m));
  const out: string[] = [];
  const seenFiles = new Set<string>();
  const seenDirs = new Set<string>();
  for (const p of paths) {
    let info;
    try {
      info = await stat(p);
    } catch {
      throw new PipelineError("E_INPUT", "input not found; check --input-dir (or PIPELINE_INPUT_DIR)", { file: p });
    }
    const kind = kindOf(info);
    if (kind === "special") { warn(`${p}: ${specialName(info)}, not a document; skipped`); continue; }
    const real = await realpath(p);
    if (kind === "file") {
      // A file named on the command line is read whatever it links to: the user asked for it.
      if (!seenFiles.has(real)) { seenFiles.add(real); out.push(p); }
      continue;
    }
    await walk(p, real, { root: real, out, seenFiles, seenDirs, warn, follow: !!opts.followSymlinks });
  }
  return out;
}

interface WalkState { root: string; out: string[]; seenFiles: Set<string>; seenDirs: Set<string>; warn: (m: string) => void; follow: boolean }

const inside = (root: string, real: string) => real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);

async function walk(dir: string, realDir: string, s: WalkState): Promise<void> {
  if (s.seenDirs.has(realDir)) return; // a link back to a folder already walked: no loop, no duplicates
  s.seenDirs.add(realDir);
  const entries = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith("."))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = join(dir, e.name);
    // readdir already tells each entry's kind; and under a folder's real path, an entry that is not a link is
    // at its own real path — only links need a stat and a realpath.
    let info: Dirent | Stats = e;
    let real = join(realDir, e.name);
    if (e.isSymbolicLink()) {
      try {
        real = await realpath(full);
        info = await stat(full);
      } catch {
        s.warn(`${full}: a symlink to nothing (broken); skipped`);
        continue;
      }
      if (!inside(s.root, real) && !s.follow) {
        s.warn(`${full}: a symlink to ${real}, outside the input folder; skipped (--follow-symlinks reads it)`);
        continue;
      }
    }
    const kind = kindOf(info);
    if (kind === "dir") await walk(full, real, s);
    else if (kind === "file") {
      if (s.seenFiles.has(real)) continue; // reached before through another link
      s.seenFiles.add(real);
      s.out.push(full);
    } else s.warn(`${full}: ${specialName(info)}, not a document; skipped`);
  }
}
