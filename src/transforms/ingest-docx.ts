// DOCX → plain text (mammoth's raw text: paragraphs separated by blank lines).
import mammoth from "mammoth";

export async function docxToPlainText(bytes: Uint8Array): Promise<string> {
  const { value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
  return value.replace(/\n{3,}/g, "\n\n").trim();
}
