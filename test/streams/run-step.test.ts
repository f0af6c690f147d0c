import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { keptLedgerPath, ledgerPath, readLedger, workPath } from "../../src/streams/ledger.ts";
import { runStep } from "../../src/streams/run-step.ts";

const dir = () => mkdtempSync(join(tmpdir(), "runstep-"));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
// Fan out: input n gives n % 3 records, so some inputs give none.
const fan = (n: number) => range(n % 3).map((k) => ({ n, k, text: `record ${n}.${k} ünïcode` }));

test("ndjson output: records in input order, ledger complete, no work file left", async () => {
  const d = dir();
  const path = join(d, "out.ndjson");
  const r = await runStep({ name: "fan", input: range(20), stage: fan, output: { path }, concurrency: 4 });
  const expected = range(20).flatMap(fan).map((o) => JSON.stringify(o) + "\n").join("");
  assert.equal(readFileSync(path, "utf8"), expected);
  assert.equal(r.records, range(20).flatMap(fan).length);
  assert.equal(r.inputs, 20);
  assert.equal(r.bytes, Buffer.byteLength(expected));
  const ledger = await readLedger(path);
  assert.equal(ledger?.complete, true);
  assert.equal(ledger?.bytes, Buffer.byteLength(expected));
  assert.equal(existsSync(workPath(path)), false);
});

test("json-array output equals JSON.stringify(array, null, 2), empty array is valid JSON", async () => {
  const d = dir();
  const path = join(d, "out.json");
  await runStep({ name: "fan", input: range(10), stage: fan, output: { path, format: "json-array" } });
  const all = range(10).flatMap(fan);
  assert.equal(readFileSync(path, "utf8"), JSON.stringify(all, null, 2) + "\n");
  const empty = join(d, "empty.json");
  await runStep({ name: "none", input: range(3), stage: () => null, output: { path: empty, format: "json-array" } });
  assert.deepEqual(JSON.parse(readFileSync(empty, "utf8")), []);
});

test("an error keeps finished inputs; --resume continues to the same bytes as one clean run", async () => {
  for (const format of ["ndjson", "json-array"] as const) {
    const d = dir();
    const clean = join(d, "clean");
    const path = join(d, "out");
    await runStep({ name: "fan", input: range(50), stage: fan, output: { path: clean, format } });
    let calls = 0;
    const failing = (n: number) => { if (n === 31 && calls++ === 0) throw new Error("transient"); return fan(n); };
    await assert.rejects(
      runStep({ name: "fan", input: range(50), stage: failing, output: { path, format }, commitEveryInputs: 7, commitEveryMs: 1e9 }),
      /stage fan.*transient/,
    );
    assert.equal(existsSync(path), false, "no half-written target");
    const ledger = await readLedger(path);
    assert.equal(ledger?.inputs, 31, "everything before the failing input is committed");
    const seen: number[] = [];
    const r = await runStep({ name: "fan", input: range(50), stage: (n: number, ctx) => { seen.push(ctx.index); return failing(n); }, output: { path, format }, resume: true });
    assert.equal(r.resumedInputs, 31);
    assert.equal(seen[0], 31, "committed inputs are skipped and ctx.index keeps counting");
    assert.equal(readFileSync(path, "utf8"), readFileSync(clean, "utf8"), format);
  }
});

test("resume truncates bytes written after the last commit", async () => {
  const d = dir();
  const path = join(d, "out.ndjson");
  await assert.rejects(runStep({ name: "s", input: range(10), stage: (n: number) => { if (n === 5) throw new Error("x"); return { n }; }, output: { path } }));
  writeFileSync(workPath(path), readFileSync(workPath(path), "utf8") + '{"torn":');
  await runStep({ name: "s", input: range(10), stage: (n: number) => ({ n }), output: { path }, resume: true });
  assert.equal(readFileSync(path, "utf8"), range(10).map((n) => JSON.stringify({ n }) + "\n").join(""));
});

test("resume with changed settings is refused, naming the setting", async () => {
  const d = dir();
  const path = join(d, "out.ndjson");
  await assert.rejects(runStep({ name: "s", input: range(10), stage: (n: number) => { if (n === 5) throw new Error("x"); return { n }; }, output: { path }, settings: { size: 100, overlap: 10 } }));
  await assert.rejects(
    runStep({ name: "s", input: range(10), stage: (n: number) => ({ n }), output: { path }, resume: true, settings: { size: 200, overlap: 10 } }),
    (e: Error & { code?: string }) => e.code === "E_RESUME" && /settings changed.*\(size\).*without --resume/.test(e.message),
  );
});

test("a complete output resumed is left alone; a fresh run replaces the old output only when complete", async () => {
  const d = dir();
  const path = join(d, "out.ndjson");
  await runStep({ name: "s", input: range(3), stage: (n: number) => ({ n }), output: { path } });
  const before = readFileSync(path, "utf8");
  let called = false;
  const r = await runStep({ name: "s", input: range(3), stage: (n: number) => { called = true; return { n }; }, output: { path }, resume: true });
  assert.equal(r.alreadyComplete, true);
  assert.equal(called, false);
  await assert.rejects(runStep({ name: "s", input: range(3), stage: (n: number) => { if (n === 2) throw new Error("x"); return { m: n }; }, output: { path } }));
  assert.equal(readFileSync(path, "utf8"), before, "old output untouched by a failed run");
  assert.ok(existsSync(ledgerPath(path)));
});

test("stream output writes records as they come; --resume without a file is a usage error", async () => {
  const sink = new PassThrough();
  let text = "";
  sink.on("data", (b) => (text += b));
  await runStep({ name: "s", input: range(3), stage: (n: number) => ({ n }), output: { stream: sink } });
  assert.equal(text, '{"n":0}\n{"n":1}\n{"n":2}\n');
  await assert.rejects(runStep({ name: "s", input: range(3), stage: (n: number) => ({ n }), output: { stream: sink }, resume: true }), /--resume needs an output file/);
});

test("--resume of a complete run whose output was deleted runs again", async () => {
  const d = dir();
  const path = join(d, "out.ndjson");
  await runStep({ name: "s", input: range(3), stage: (n: number) => ({ n }), output: { path } });
  rmSync(path);
  const r = await runStep({ name: "s", input: range(3), stage: (n: number) => ({ n }), output: { path }, resume: true });
  assert.equal(r.alreadyComplete, false);
  assert.equal(readFileSync(path, "utf8"), '{"n":0}\n{"n":1}\n{"n":2}\n');
});

test("a failed run with other settings leaves the complete output described: --resume with the old settings finds it complete", async () => {
  const dir = mkdtempSync(join(tmpdir(), "run-step-kept-"));
  const path = join(dir, "out.ndjson");
  const quiet = { handleSigint: false, heapGuardMb: false } as const;
  await runStep({ name: "s", input: [1, 2, 3], stage: (n: number) => ({ n }), output: { path }, settings: { k: "a" }, ...quiet });
  const before = readFileSync(path, "utf8");
  await assert.rejects(runStep({ name: "s", input: [1, 2, 3], stage: (n: number) => { if (n === 2) throw new Error("server down"); return { n }; }, output: { path }, settings: { k: "b" }, ...quiet }), /server down/);
  const r = await runStep({ name: "s", input: [1, 2, 3], stage: (n: number) => ({ n }), output: { path }, settings: { k: "a" }, resume: true, ...quiet });
  assert.equal(r.alreadyComplete, true);
  assert.equal(r.inputs, 3);
  assert.equal(readFileSync(path, "utf8"), before, "the complete output is untouched");
  // The failed run itself can still be resumed with its own settings, and then replaces the output.
  const b = await runStep({ name: "s", input: [1, 2, 3], stage: (n: number) => ({ n: n * 10 }), output: { path }, settings: { k: "b" }, resume: true, ...quiet });
  assert.equal(b.resumedInputs, 1);
  assert.equal(readFileSync(path, "utf8"), '{"n":1}\n{"n":20}\n{"n":30}\n');
  assert.equal(existsSync(keptLedgerPath(path)), false, "the kept ledger goes once a new output is complete");
});

test("a stage that fans one input out to 300,000 records composes without overflowing the stack", async () => {
  const path = join(dir(), "many.ndjson");
  const r = await runStep({ name: "fan", input: [1], stage: [(n: number) => Array.from({ length: 300_000 }, (_, i) => i + n), (x: number) => (x % 1000 === 0 ? { x } : null)], output: { path }, handleSigint: false, heapGuardMb: false });
  assert.equal(r.records, 300);
});
