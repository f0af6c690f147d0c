// PDF → page texts through the worker pool; encrypted and corrupt files become clear, named reasons.
import { PdfParseError, type PdfPool } from "./pdf-pool.ts";

/**
 * `pageTexts`: each page's text as extracted (cleanups that need pages, like running headers, use them; the
 * document's text is made from them there). `hasText`: false for a PDF of scanned images with no text layer.
 */
export type PdfResult = { ok: true; pages: number; pageTexts: string[]; hasText: boolean } | { ok: false; reason: string };

/** `bytes` go to the worker (transferred: unusable here afterwards). */
export async function pdfToPages(pool: PdfPool, bytes: Uint8Array): Promise<PdfResult> {
  const pageTexts: string[] = [];
  try {
    // Batches arrive as the worker extracts them; only this document's page list is gathered, here.
    const it = pool.pages(bytes, { transfer: true });
    let step = await it.next();
    for (; !step.done; step = await it.next()) for (const p of step.value) pageTexts.push(p);
    return { ok: true, pages: step.value, pageTexts, hasText: pageTexts.some((p) => p.trim() !== "") };
  } catch (error) {
    const kind = error instanceof PdfParseError ? error.kind : "error";
    const message = (error as Error).message;
    if (kind === "encrypted") {
      return { ok: false, reason: "PDF is encrypted (password-protected); decrypt it first (e.g. `qpdf --decrypt in.pdf out.pdf`) to include it" };
    }
    if (kind === "corrupt") return { ok: false, reason: `PDF is corrupt or truncated (${message}); re-export or re-download it` };
    return { ok: false, reason: `PDF could not be read (${pool.engine}: ${message})` };
  }
}
