import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createProgress, formatSeconds } from "../../src/streams/progress.ts";

/** A writable that says it is a terminal and records what is drawn on it. */
function fakeTerminal(): NodeJS.WriteStream & { text: () => string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { text: () => string };
  let out = "";
  (s as unknown as PassThrough).on("data", (b) => (out += b));
  Object.assign(s, {
    isTTY: true, columns: 120,
    cursorTo: (_x: number, _y?: number, cb?: () => void) => { out += "\r"; cb?.(); return true; },
    clearLine: (_d: number, cb?: () => void) => { cb?.(); return true; },
    moveCursor: (_x: number, _y: number, cb?: () => void) => { cb?.(); return true; },
    text: () => out,
  });
  return s;
}

async function captureStderr(fn: () => Promise<void> | void): Promise<string> {
  const write = process.stderr.write.bind(process.stderr);
  let out = "";
  process.stderr.write = ((chunk: string | Uint8Array) => { out += String(chunk); return true; }) as typeof process.stderr.write;
  try { await fn(); } finally { process.stderr.write = write; }
  return out;
}

test("on a terminal: a bar with count, rate and ETA", async () => {
  const term = fakeTerminal();
  const p = createProgress({ label: "chunk", unit: "files", total: 10, tty: true, stream: term, quiet: false });
  for (let i = 1; i <= 10; i++) p.update({ inputs: i, records: i * 3, bytes: i * 100 });
  p.done({ inputs: 10, records: 30, bytes: 1000 }, true);
  await new Promise((r) => setImmediate(r));
  const text = term.text();
  assert.match(text, /chunk .*100% \| 10\/10 files \| 30 out \| [\d.]+\/s \| ETA /);
});

test("not on a terminal: a line every interval with counts, rate and ETA", async () => {
  const p = createProgress({ label: "qa", unit: "chunks", total: 100, tty: false, intervalSec: 0, quiet: false });
  const out = await captureStderr(async () => {
    await new Promise((r) => setTimeout(r, 5));
    p.update({ inputs: 40, records: 120, bytes: 1 });
  });
  assert.match(out, /^qa: 40\/100 chunks, 120 out, [\d.]+ chunks\/s ETA \S+\n$/);
});

test("--quiet: nothing at all", async () => {
  const term = fakeTerminal();
  const out = await captureStderr(() => {
    const p = createProgress({ label: "x", quiet: true, tty: true, stream: term });
    p.update({ inputs: 1, records: 1, bytes: 1 });
    p.done({ inputs: 1, records: 1, bytes: 1 }, true);
  });
  assert.equal(out + term.text(), "");
});

test("ETA formatting", () => {
  assert.equal(formatSeconds(42.4), "42s");
  assert.equal(formatSeconds(125), "2m05s");
  assert.equal(formatSeconds(7322), "2h02m");
  assert.equal(formatSeconds(Infinity), "?");
});
