// Worker thread that turns PDF bytes into page texts with one engine (pdf-engine-*.mjs), so parsing uses more cores.
// Plain JS on purpose: worker threads do not inherit the tsx loader that bin/pipeline registers.
//
// Protocol (pdf-pool.ts is the other side), one document at a time:
//   in:  { type: "open", id, data }   the PDF's bytes (transferred)
//        { type: "more", id }         the main thread took a batch: one more may be sent
//   out: { type: "pages", id, pages } the next `batch` pages' texts, in order
//        { type: "end", id, total, heapBytes } | { type: "error", id, error: { kind, message } }
// Pages go out as they are extracted, at most `credit` batches ahead of the reader, so a 2,000-page PDF never
// sits whole here as text and a slow reader holds the worker back instead of piling up messages.
import { parentPort, workerData } from "node:worker_threads";

const { engine: name, batch, credit } = workerData;
const engine = await import(name === "pdfium" ? "./pdf-engine-pdfium.mjs" : "./pdf-engine-pdf-parse.mjs");

let current = -1;
let credits = 0;
let wake = null;

parentPort.on("message", (msg) => {
  if (msg.type === "more" && msg.id === current) {
    credits++;
    wake?.();
    wake = null;
  } else if (msg.type === "open") {
    void run(msg.id, msg.data);
  }
});

async function run(id, data) {
  let doc;
  current = id;
  credits = credit;
  try {
    doc = await engine.open(data);
    data = undefined; // the engine has its own copy now
    for (let from = 0; from < doc.total; from += batch) {
      while (credits <= 0) await new Promise((resolve) => { wake = resolve; });
      credits--;
      parentPort.postMessage({ type: "pages", id, pages: await doc.read(from, Math.min(doc.total, from + batch)) });
    }
    const total = doc.total;
    await doc.close();
    doc = undefined;
    parentPort.postMessage({ type: "end", id, total, heapBytes: engine.heapBytes() });
  } catch (error) {
    await Promise.resolve(doc?.close()).catch(() => {});
    parentPort.postMessage({ type: "error", id, error: { kind: engine.errorKind(error), message: error?.message ?? String(error) } });
  }
}
