// Where a step will write or read, checked before any work: one clear E_OUTPUT / E_INPUT naming the path
// (a folder where a file belongs, a file where a folder belongs, a folder we may not write in) instead of
// a raw EISDIR / ENOTDIR / EACCES trace after the input was read.
import { accessSync, constants, statSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";
import { PipelineError } from "../errors.ts";

function statOrUndefined(path: string): Stats | undefined {
  try { return statSync(path); } catch { return undefined; }
}

/** The nearest existing ancestor of `path` must be a folder we can create entries in. */
function checkCreatable(path: string, what: string): void {
  let dir = dirname(path);
  let s = statOrUndefined(dir);
  while (!s && dirname(dir) !== dir) { dir = dirname(dir); s = statOrUndefined(dir); }
  if (!s) return;
  if (!s.isDirectory()) throw new PipelineError("E_OUTPUT", `${dir} is a file, so the ${what} ${path} cannot be created under it; remove it or choose another path`, { file: path });
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new PipelineError("E_OUTPUT", `cannot write in ${dir} (permission denied); choose a folder you can write to for the ${what}`, { file: path });
  }
}

/** A file the step will (re)write: not a folder, in a folder that exists or can be made, writable. */
export function checkOutputFile(path: string, what = "output file"): void {
  const p = resolve(path);
  const s = statOrUndefined(p);
  if (s?.isDirectory()) throw new PipelineError("E_OUTPUT", `${p} is a folder, but the ${what} goes there; name a file instead`, { file: p });
  if (s) {
    try { accessSync(p, constants.W_OK); } catch {
      throw new PipelineError("E_OUTPUT", `cannot overwrite ${p} (permission denied)`, { file: p });
    }
  }
  checkCreatable(p, what);
}

/** A folder the step will write into: a folder (or creatable), writable. */
export function checkOutputDir(path: string, what = "output folder"): void {
  const p = resolve(path);
  const s = statOrUndefined(p);
  if (s && !s.isDirectory()) throw new PipelineError("E_OUTPUT", `${p} is a file, but the ${what} goes there; name a folder instead`, { file: p });
  if (s) {
    try { accessSync(p, constants.W_OK | constants.X_OK); } catch {
      throw new PipelineError("E_OUTPUT", `cannot write in ${p} (permission denied); choose a folder you can write to`, { file: p });
    }
    return;
  }
  checkCreatable(p, what);
}

/** A file the step will read: it exists and is a file. */
export function checkInputFile(path: string, what = "input file"): void {
  const p = resolve(path);
  const s = statOrUndefined(p);
  if (!s) throw new PipelineError("E_INPUT", `${what} not found; check the path`, { file: p });
  if (s.isDirectory()) throw new PipelineError("E_INPUT", `${p} is a folder; name the ${what} itself`, { file: p });
}
