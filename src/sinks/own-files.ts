// Files we create beside a user-named output (the dataset card README.md, <out>.valid.jsonl,
// <out>.provenance.jsonl) are written only where no foreign file of that name exists. Ours are known by a
// marker: the card carries one HTML comment listing every file that run wrote, so a later run knows which
// siblings it may replace. A foreign file keeps its name and content; ours then goes under a docs2model name.
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { PipelineError } from "../errors.ts";

const MARKER_RE = /<!-- docs2model dataset card: (\{.*?\}) -->/;

/** The marker line the card carries: `files` are the base names this run wrote beside it. */
export function cardMarker(files: string[]): string {
  return `<!-- docs2model dataset card: ${JSON.stringify({ files })} -->`;
}

function readOrUndefined(path: string): string | undefined {
  try { return readFileSync(path, "utf8"); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if ((e as NodeJS.ErrnoException).code === "EISDIR") return "";
    throw e;
  }
}

/** The files an existing card of ours names (undefined when `path` is absent or not ours). */
export function ourCardFiles(path: string): string[] | undefined {
  const text = readOrUndefined(path);
  const m = text === undefined ? undefined : MARKER_RE.exec(text);
  if (!m) return undefined;
  try { const files = (JSON.parse(m[1]!) as { files?: unknown }).files; return Array.isArray(files) ? files.map(String) : []; } catch { return []; }
}

export const CARD_FILE = "README.md";
export const CARD_FALLBACK_FILE = "docs2model.dataset-card.md";

/** Where the card goes in `dir`: README.md unless a foreign README.md is there, then our own name. */
export function cardPathIn(dir: string): { path: string; foreign?: string } {
  const readme = join(dir, CARD_FILE);
  if (readOrUndefined(readme) === undefined || ourCardFiles(readme)) return { path: readme };
  const own = join(dir, CARD_FALLBACK_FILE);
  if (readOrUndefined(own) !== undefined && !ourCardFiles(own)) {
    throw new PipelineError("E_OUTPUT", `${readme} and ${own} both exist and neither is a dataset card we wrote; move one of them so the card has a place`, { file: own });
  }
  return { path: own, foreign: readme };
}

/**
 * Where a sibling goes: `path` when nothing is there or an earlier card of ours in the folder names it (or
 * `looksOurs` accepts its first line), else `fallback` (which must itself be free or ours).
 */
export function siblingPathIn(path: string, fallback: string, looksOurs?: (firstLine: string) => boolean): { path: string; foreign?: string } {
  const dir = dirname(path);
  const known = [...(ourCardFiles(join(dir, CARD_FILE)) ?? []), ...(ourCardFiles(join(dir, CARD_FALLBACK_FILE)) ?? [])];
  const ours = (p: string): boolean => {
    const text = readOrUndefined(p);
    if (text === undefined || text === "" || known.includes(basename(p))) return true;
    return !!looksOurs?.(text.slice(0, text.indexOf("\n") >>> 0));
  };
  if (ours(path)) return { path };
  if (!ours(fallback)) throw new PipelineError("E_OUTPUT", `${path} and ${fallback} both exist and are not files we wrote; move one of them or choose another -o`, { file: fallback });
  return { path: fallback, foreign: path };
}

/** A provenance line as format writes it: {"split":…,"line":…,"id":…,"qaId":…}. */
export function looksLikeProvenance(line: string): boolean {
  try { const o = JSON.parse(line) as Record<string, unknown>; return (o.split === "train" || o.split === "valid") && typeof o.line === "number" && "qaId" in o; } catch { return false; }
}
