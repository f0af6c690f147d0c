// PDF engine: PDFium compiled to WebAssembly (@hyzyla/pdfium 2.1.13, pinned: this file calls two of its internals).
// Loaded only inside a PDF worker thread (pdf-worker.mjs), which passes the wasm module the pool compiled once from
// the file shipped in the package (pdf-pool.ts): nothing is ever fetched at run time, and every worker — recycled
// ones too — shares the one compiled code instead of compiling 11 MB of wasm again.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { workerData } from "node:worker_threads";
import { PDFiumLibrary } from "@hyzyla/pdfium";

const compiled = workerData?.wasmModule ?? (await WebAssembly.compile(await readFile(createRequire(import.meta.url).resolve("@hyzyla/pdfium/pdfium.wasm"))));
const library = await PDFiumLibrary.init({
  // Emscripten's hook: instantiate from our module; its callback takes (instance, module).
  instantiateWasm: (imports, done) => {
    WebAssembly.instantiate(compiled, imports).then((instance) => done(instance, compiled));
    return {};
  },
});
// The library object keeps the emscripten module private; FPDF_ClosePage and the heap size need it.
const wasm = /** @type {any} */ (library).module;

/**
 * PDFium's page text as pdf.js lays it out, so both engines feed the cleanups the same shapes: lines end in "\n"
 * with no space at either end (PDFium writes "\r\n" and keeps spaces pdf.js drops there), and PDFium's end-of-line
 * hyphen marker U+FFFE (a "-" that ended a line, the line break folded into it; Chromium's PDF viewer reads it the
 * same way, pdf/pdfium/pdfium_page.cc FormatStringWithHyphens) becomes that hyphen and line break again, for the
 * hyphenation cleanup to judge.
 */
export function layoutText(raw) {
  return raw.replace(/\uFFFE/g, "-\n").replace(/\r\n?/g, "\n").replace(/[ \t]*\n[ \t]*/g, "\n").trim();
}

export async function open(data) {
  const doc = await library.loadDocument(data);
  return {
    total: doc.getPageCount(),
    async read(from, to) {
      const out = [];
      for (let i = from; i < to; i++) {
        const page = doc.getPage(i);
        try {
          out.push(layoutText(page.getText()));
        } finally {
          // getText leaves the page loaded until the document closes: close it, or a 2,000-page PDF keeps every page.
          wasm._FPDF_ClosePage(/** @type {any} */ (page).pageIdx);
        }
      }
      return out;
    },
    close() { doc.destroy(); },
  };
}

/** Bytes the engine holds outside the JS heap: the wasm memory (it only grows; the pool recycles on it). */
export const heapBytes = () => wasm.HEAPU8.length;

/** Engine-neutral kind of a failure: the library throws plain Errors with FPDF_GetLastError's fixed messages. */
export function errorKind(error) {
  const m = String(error?.message ?? error);
  if (/^Password required|^Unsupported security scheme/.test(m)) return "encrypted";
  if (/^File not in PDF format or corrupted|^Unknown error|^Page not found or content error|^Failed to load text page/.test(m)) return "corrupt";
  return "error";
}
