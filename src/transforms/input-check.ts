// Refuse an input that holds no documents before any output is opened: an empty run would replace every
// output with an empty file and call it done.
import { extname } from "node:path";
import { PipelineError } from "../errors.ts";
import { SUPPORTED_EXTENSIONS } from "./ingest.ts";

/** Throws E_INPUT (exit 1) when none of `files` is a document type ingest reads. */
export function requireDocuments(files: string[], inputs: string[]): void {
  if (files.some((f) => SUPPORTED_EXTENSIONS.includes(extname(f).toLowerCase()))) return;
  const found = files.length ? `only ${files.length} file(s) of unsupported types` : "no files";
  throw new PipelineError(
    "E_INPUT",
    `${found} to read (supported: ${SUPPORTED_EXTENSIONS.join(" ")}); nothing was written and earlier outputs are kept — put documents there or name another folder with -i`,
    { file: inputs.join(", ") },
  );
}
