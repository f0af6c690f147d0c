// Claim: our line-numbered NDJSON parser (src/streams/ndjson.ts) parses chunk-shaped records at least as fast
// as stream-chain's JSONL parser (the card's candidate), measured on the same bytes in the same run.
// Run: node --import tsx bench/ndjson-parse.ts [MB=100]
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { cpus, loadavg } from "node:os";
import jsonlParser from "stream-chain/jsonl/parserStream.js";
import { parseNdjson } from "../src/streams/ndjson.ts";

const mb = Number(process.argv[2] ?? 100);
const text = "The mill on the Alder river ground wheat for three villages until the flood of 1901. ".repeat(17);
const lines: string[] = [];
let bytes = 0;
for (let i = 0; bytes < mb * 1e6; i++) {
  const line = JSON.stringify({ type: "chunk", id: `chunk_${i.toString(16).padStart(16, "0")}`, docId: `doc_${i >> 6}`, source: `docs/file-${i >> 6}.md`, seq: i & 63, start: i * 1500, end: i * 1500 + text.length, text }) + "\n";
  lines.push(line);
  bytes += Buffer.byteLength(line);
}
const data = Buffer.from(lines.join(""));
const source = () => Readable.from((function* () { for (let o = 0; o < data.length; o += 65536) yield data.subarray(o, o + 65536); })(), { objectMode: false });
const sink = () => { let n = 0; return { stream: new Writable({ objectMode: true, write(_r, _e, cb) { n++; cb(); } }), count: () => n }; };

async function time(name: string, make: () => NodeJS.ReadWriteStream): Promise<string> {
  const best: number[] = [];
  let records = 0;
  for (let run = 0; run < 3; run++) {
    const s = sink();
    const t = process.hrtime.bigint();
    await pipeline(source(), make(), s.stream);
    best.push(Number(process.hrtime.bigint() - t) / 1e9);
    records = s.count();
  }
  const sec = Math.min(...best);
  return `| ${name} | ${records} | ${sec.toFixed(2)} s | ${(data.length / 1e6 / sec).toFixed(0)} MB/s |`;
}

console.log(`| parser (${(data.length / 1e6).toFixed(0)} MB, ${lines.length} chunk records, best of 3) | records | time | throughput |`);
console.log("|---|---|---|---|");
console.log(await time("ours: parseNdjson (line numbers, --skip-bad-lines)", () => parseNdjson()));
console.log(await time("stream-chain 4.4.1 jsonl/parserStream", () => jsonlParser() as unknown as NodeJS.ReadWriteStream));
console.log(`load avg ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);
