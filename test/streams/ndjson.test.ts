import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import { z } from "zod";
import { parseNdjson } from "../../src/streams/ndjson.ts";

async function parse(text: string[], opts: Parameters<typeof parseNdjson>[0] = {}) {
  const out: unknown[] = [];
  const p = parseNdjson(opts);
  await pipeline(Readable.from(text.map((t) => Buffer.from(t))), p, async function* (src) { for await (const x of src) out.push(x); });
  return { out, stats: p.stats };
}

test("parses lines split across chunks, CRLF and a missing final newline", async () => {
  const { out } = await parse(['{"a":1}\r\n{"a"', ':2}\n\n{"a":3}']);
  assert.deepEqual(out, [{ a: 1 }, { a: 2 }, { a: 3 }]);
});

test("a bad line names its file and line number", async () => {
  await assert.rejects(parse(['{"a":1}\n', "not json\n"], { file: "in.ndjson" }), /in\.ndjson:2: not valid JSON/);
});

test("a schema failure names the field", async () => {
  const schema = z.object({ text: z.string() });
  await assert.rejects(parse(['{"text":"x"}\n{"text":5}\n'], { file: "d.ndjson", schema }), /d\.ndjson:2, field "text"/);
});

test("--skip-bad-lines counts and reports instead of failing", async () => {
  const bad: number[] = [];
  const { out, stats } = await parse(['{"a":1}\n{oops\n{"a":2}\n'], { skipBadLines: true, onBadLine: (l) => bad.push(l) });
  assert.deepEqual(out, [{ a: 1 }, { a: 2 }]);
  assert.equal(stats.badLines, 1);
  assert.deepEqual(bad, [2]);
});
