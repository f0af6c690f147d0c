import assert from "node:assert/strict";
import { test } from "node:test";
import iconv from "iconv-lite";
import { decodeText, looksBinary } from "../../src/transforms/decode-text.ts";

test("UTF-8 (with or without BOM), UTF-16 with BOM, CRLF normalised", () => {
  assert.deepEqual(decodeText(Buffer.from("\uFEFFnaïve\r\nline")), { text: "naïve\nline", encoding: "UTF-8" });
  assert.equal(decodeText(Buffer.from("日本語 ✓"))!.text, "日本語 ✓");
  assert.equal(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), iconv.encode("big endian ü", "utf16be")]))!.text, "big endian ü");
});

test("legacy encodings are detected: windows-1252 quotes, Shift_JIS", () => {
  const cp1252 = iconv.encode("“Smart quotes” — and café, naïve, résumé, déjà vu.", "windows-1252");
  assert.equal(decodeText(cp1252)!.text, "“Smart quotes” — and café, naïve, résumé, déjà vu.");
  const sjis = iconv.encode("日本語のテキストです。これは文字コードの判定を試すための文章です。", "Shift_JIS");
  assert.equal(decodeText(sjis)!.text, "日本語のテキストです。これは文字コードの判定を試すための文章です。");
});

test("binary is recognised, and no byte sequence makes decoding throw", () => {
  assert.equal(decodeText(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0])), undefined);
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24);
  for (let i = 0; i < 300; i++) {
    const buf = Buffer.from(Array.from({ length: 1 + (i % 97) * 7 }, rnd));
    const r = decodeText(buf);
    if (r) assert.equal(typeof r.text, "string");
  }
  assert.equal(looksBinary("\u0001\u0002\u0003abc\u0004\u0005"), true);
  assert.equal(looksBinary("plain words\tand tabs\n"), false);
});
