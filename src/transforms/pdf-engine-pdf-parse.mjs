// PDF engine: pdf-parse 2.x (pdf.js), the design card's choice. Loaded only inside a PDF worker thread.
import { getHeapStatistics } from "node:v8";
import { PDFParse } from "pdf-parse";

export async function open(data) {
  const parser = new PDFParse({ data });
  try {
    // load() opens the document once; getText with a page range reuses it for every batch.
    const doc = await parser.load();
    return {
      total: doc.numPages,
      async read(from, to) {
        const result = await parser.getText({ first: from + 1, last: to });
        return result.pages.map((p) => p.text);
      },
      close: () => parser.destroy(),
    };
  } catch (error) {
    await parser.destroy().catch(() => {});
    throw error;
  }
}

/** pdf.js lives on the worker's JS heap. */
export const heapBytes = () => getHeapStatistics().used_heap_size;

/** Engine-neutral kind of a failure, from pdf.js's exception names. */
export function errorKind(error) {
  const name = error?.name ?? "";
  if (name === "PasswordException") return "encrypted";
  if (name === "InvalidPDFException" || name === "FormatError" || name === "UnknownErrorException") return "corrupt";
  return "error";
}
