import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import { asTransform } from "../../src/streams/as-transform.ts";

async function collect<T>(items: unknown[], t: NodeJS.ReadWriteStream): Promise<T[]> {
  const out: T[] = [];
  await pipeline(Readable.from(items), t, async function* (src) { for await (const x of src) out.push(x as T); });
  return out;
}

test("keeps input order while running records concurrently", async () => {
  let inFlight = 0, peak = 0;
  const stage = async (n: number) => {
    inFlight++; peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, (10 - n) * 3));
    inFlight--;
    return n * 2;
  };
  const out = await collect<number>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], asTransform(stage, { name: "double", concurrency: 4 }));
  assert.deepEqual(out, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  assert.equal(peak, 4, "concurrency is bounded and used");
});

test("null drops, arrays and generators fan out, flush appends", async () => {
  const stage = async function* (n: number) { for (let i = 0; i < n; i++) yield `${n}.${i}`; };
  const out = await collect<string>([2, 0, 1], asTransform(stage, { name: "fan", flush: () => ["end"] }));
  assert.deepEqual(out, ["2.0", "2.1", "1.0", "end"]);
  const dropped = await collect<number>([1, 2, 3], asTransform((n: number) => (n === 2 ? null : [n, n]), { name: "drop" }));
  assert.deepEqual(dropped, [1, 1, 3, 3]);
});

test("an error names the stage and the record id", async () => {
  const stage = (r: { id: string }) => { if (r.id === "b") throw new Error("boom"); return r; };
  await assert.rejects(collect([{ id: "a" }, { id: "b" }], asTransform(stage, { name: "explode" })), /stage explode, record b: boom/);
});

test("onInputDone reports each input once, in order, after its outputs", async () => {
  const seen: Array<[number, number]> = [];
  await collect([3, 1, 2], asTransform((n: number) => new Array(n).fill(n), { name: "n", concurrency: 3, onInputDone: (i, k) => seen.push([i, k]) }));
  assert.deepEqual(seen, [[0, 3], [1, 1], [2, 2]]);
});

test("a slow record holds back only the reorder window, not the other slots", async () => {
  // Record 0 takes 400 ms, the rest 5 ms each: with 4 slots the other three keep working meanwhile.
  let started = 0, startedWhileSlow = 0, slowDone = false, emitted = 0, peakHeld = 0;
  const stage = async (n: number) => {
    started++;
    if (!slowDone && n !== 0) startedWhileSlow++;
    peakHeld = Math.max(peakHeld, started - emitted);
    await new Promise((r) => setTimeout(r, n === 0 ? 400 : 5));
    if (n === 0) slowDone = true;
    return n;
  };
  const items = Array.from({ length: 120 }, (_, i) => i);
  const out: number[] = [];
  await pipeline(Readable.from(items), asTransform(stage, { name: "tail", concurrency: 4, window: 40 }),
    async function* (src) { for await (const x of src) { out.push(x as number); emitted++; } });
  assert.deepEqual(out, items, "output order is input order");
  assert.ok(startedWhileSlow >= 30, `other slots kept working during the slow record (${startedWhileSlow} started)`);
  assert.ok(peakHeld <= 40, `the window bounds what is held (${peakHeld})`);
});
