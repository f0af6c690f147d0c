// Bytes → text that never crashes: BOMs honoured, UTF-8 when valid, otherwise the encoding chardet
// detects (iconv-lite), with Windows-1252 as the last resort. Binary data is recognised, not decoded.
import { isUtf8 } from "node:buffer";
import chardet from "chardet";
import iconv from "iconv-lite";

export interface Decoded {
  text: string;
  encoding: string;
}

/** Returns undefined for binary data (NUL bytes in a file that is not UTF-16/32). */
export function decodeText(bytes: Uint8Array): Decoded | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return { text: normalize(buf.subarray(3).toString("utf8")), encoding: "UTF-8" };
  if (buf[0] === 0xff && buf[1] === 0xfe) return { text: normalize(iconv.decode(buf.subarray(2), "utf16le")), encoding: "UTF-16LE" };
  if (buf[0] === 0xfe && buf[1] === 0xff) return { text: normalize(iconv.decode(buf.subarray(2), "utf16be")), encoding: "UTF-16BE" };

  const head = buf.subarray(0, 8192);
  if (head.includes(0)) {
    // NULs: either BOM-less UTF-16/32 text or binary.
    const guess = chardet.detect(head);
    if (guess && /^UTF-(16|32)/i.test(guess) && iconv.encodingExists(guess)) return { text: normalize(iconv.decode(buf, guess)), encoding: guess };
    return undefined;
  }
  // isUtf8 is simdutf-fast; a fatal TextDecoder costs several times more on big files.
  if (isUtf8(buf)) return { text: normalize(buf.toString("utf8")), encoding: "UTF-8" };
  // Not UTF-8: ask chardet over a sample, fall back to the most common legacy encoding.
  // chardet says "ASCII" (confidence 0) for short samples and can still be wrong: a guess is kept
  // only when it decodes without replacement characters.
  const guesses = chardet.analyse(buf.subarray(0, 65536))
    .filter((g) => g.confidence >= 10 && !/^(ASCII|UTF-8)$/i.test(g.name) && iconv.encodingExists(g.name))
    .map((g) => g.name);
  for (const encoding of [...guesses.slice(0, 3), "windows-1252"]) {
    const text = iconv.decode(buf, encoding);
    if (!text.includes("\uFFFD") || encoding === "windows-1252") return { text: normalize(text), encoding };
  }
  return undefined;
}

/** True when the text is mostly control characters: a binary file that slipped past the NUL test. */
export function looksBinary(text: string): boolean {
  const sample = text.slice(0, 4096);
  if (!sample.length) return false;
  let control = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) || c === 0xfffd) control++;
  }
  return control / sample.length > 0.1;
}

/** One newline convention, so offsets mean the same on every platform. */
function normalize(text: string): string {
  return text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text;
}
