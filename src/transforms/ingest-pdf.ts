// PDF → plain text through the worker pool; encrypted and corrupt files become clear, named reasons.
import { PdfParseError, type PdfPool } from "./pdf-pool.ts";

/** `pageTexts`: each page's text as extracted (cleanups that need pages, like running headers, use them). */
export type PdfResult = { ok: true; text: string; pages: number; pageTexts: string[] } | { ok: false; reason: string };

export async function pdfToPlainText(pool: PdfPool, bytes: Uint8Array): Promise<PdfResult> {
  try {
    const { pages, total } = await pool.parse(bytes);
    const text = pages.map((p) => p.trim()).filter(Boolean).join("\n\n");
    return { ok: true, text, pages: total, pageTexts: pages };
  } catch (error) {
    const kind = error instanceof PdfParseError ? error.kind : "Error";
    const message = (error as Error).message;
    if (kind === "PasswordException") {
      return { ok: false, reason: "PDF is encrypted (password-protected); decrypt it first (e.g. `qpdf --decrypt in.pdf out.pdf`) to include it" };
    }
    if (kind === "InvalidPDFException" || kind === "FormatError" || kind === "UnknownErrorException") {
      return { ok: false, reason: `PDF is corrupt or truncated (${message}); re-export or re-download it` };
    }
    return { ok: false, reason: `PDF could not be read (${kind}: ${message})` };
  }
}
