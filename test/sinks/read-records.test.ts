import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { z } from "zod";
import { detectKind, readRecords } from "../../src/sinks/read-records.ts";

const Rec = z.object({ id: z.string(), n: z.number() });
const dir = mkdtempSync(join(tmpdir(), "read-records-"));
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
const all = async <T>(it: AsyncIterable<T>) => { const out: T[] = []; for await (const x of it) out.push(x); return out; };

test("kinds are told apart by their first bytes", () => {
  assert.equal(detectKind('[\n  {"id": "a"}'), "json-array");
  assert.equal(detectKind('\uFEFF  [{"id":"a"}]'), "json-array");
  assert.equal(detectKind('{"id":"a","n":1}\n{"id":"b","n":2}\n'), "ndjson");
  assert.equal(detectKind('{\n  "settings": {},\n  "pairs": ['), "report");
});

test("a JSON array, a report's pairs and NDJSON give the same records", async () => {
  const recs = [{ id: "a", n: 1 }, { id: "b", n: 2 }];
  const arr = file("a.json", JSON.stringify(recs, null, 2));
  const report = file("r.json", JSON.stringify({ settings: { pairs: "not this" }, summary: {}, pairs: recs }, null, 2));
  const nd = file("n.ndjson", recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
  for (const path of [arr, report, nd]) assert.deepEqual(await all(readRecords({ path, schema: Rec })), recs, path);
});

test("a bad record names the file, the position and the field; --skip-bad-lines counts it instead", async () => {
  const arr = file("bad.json", JSON.stringify([{ id: "a", n: 1 }, { id: "b", n: "two" }]));
  await assert.rejects(all(readRecords({ path: arr, schema: Rec })), /bad\.json.*field "n".*item 2 of the array/);
  const nd = file("bad.ndjson", '{"id":"a","n":1}\nnot json\n{"id":"c","n":3}\n');
  await assert.rejects(all(readRecords({ path: nd, schema: Rec })), /bad\.ndjson:2.*not valid JSON/);
  const skipped: number[] = [];
  const kept = await all(readRecords({ path: nd, schema: Rec, skipBadLines: true, onBadLine: (l) => skipped.push(l) }));
  assert.deepEqual(kept.map((r) => r.id), ["a", "c"]);
  assert.deepEqual(skipped, [2]);
  await assert.rejects(all(readRecords({ path: join(dir, "missing.json"), schema: Rec })), /missing\.json.*not found/);
  // A file used as a folder on the way was ENOTDIR, which the CLI reported as an output problem (E_OUTPUT).
  await assert.rejects(all(readRecords({ path: join(nd, "x.json"), schema: Rec })), (e: Error & { code?: string }) => e.code === "E_INPUT" && /bad\.ndjson\/x\.json.*not found; check the path/.test(e.message));
  const broken = file("broken.json", '[{"id":"a","n":1},{"id":');
  await assert.rejects(all(readRecords({ path: broken, schema: Rec })), /broken\.json.*not valid JSON/);
});

test("seed-style objects are coerced before validation", async () => {
  const arr = file("seed.json", JSON.stringify([{ id: "x", n: "7" }]));
  const out = await all(readRecords({ path: arr, schema: Rec, coerce: (v) => ({ ...(v as object), n: Number((v as { n: string }).n) }) }));
  assert.deepEqual(out, [{ id: "x", n: 7 }]);
});
