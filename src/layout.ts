// Names of the files format writes beside its output, in one place: format writes them, qa-train and export read them.

/** `x.jsonl` → `x.valid.jsonl`, `x.provenance.jsonl`. */
export function siblingPath(path: string, tag: string): string {
  return /\.jsonl$/i.test(path) ? path.replace(/\.jsonl$/i, `.${tag}.jsonl`) : `${path}.${tag}.jsonl`;
}
