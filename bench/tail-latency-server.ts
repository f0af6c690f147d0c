// Loopback OpenAI-protocol server with a heavy latency tail and hangs, for bench/tail-latency.ts. It keeps
// the books the bench needs: the service time of every request (its latency, or the client's timeout for
// a hang or a reply slower than it) and the span from the first arrival to the last answer.
//   node --import tsx bench/tail-latency-server.ts --median 100 --p99-factor 20 --hang-rate 0.03 --timeout 2 --seed 1
// Prints {"baseURL": …} on stdout; when stdin ends, prints the books as one JSON line and exits.
import { parseArgs } from "node:util";
import { mulberry32 } from "../src/random.ts";
import { startOpenAiServer } from "../test/fixtures/servers/openai.ts";
import type { Step } from "../test/fixtures/servers/loopback.ts";
import { benchReply } from "./data-steps-reply.ts";

const { values } = parseArgs({ options: {
  median: { type: "string", default: "100" }, "p99-factor": { type: "string", default: "20" },
  fixed: { type: "boolean", default: false }, "hang-rate": { type: "string", default: "0" },
  timeout: { type: "string", default: "120" }, seed: { type: "string", default: "1" },
} });
const median = Number(values.median), hangRate = Number(values["hang-rate"]), timeoutMs = Number(values.timeout) * 1000;
// Log-normal: ln(latency) ~ N(ln median, σ²), with p99 = factor × median ⇒ σ = ln(factor) / z(0.99).
const sigma = values.fixed ? 0 : Math.log(Number(values["p99-factor"])) / 2.3263478740408408;
const random = mulberry32(Number(values.seed));
const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

const books = { requests: 0, hangs: 0, timedOut: 0, serviceMs: 0, firstArrival: Infinity, lastEnd: 0 };
function script(): Step {
  const now = performance.now();
  books.requests++;
  books.firstArrival = Math.min(books.firstArrival, now);
  if (random() < hangRate) {
    books.hangs++; books.serviceMs += timeoutMs; books.lastEnd = Math.max(books.lastEnd, now + timeoutMs);
    return { hang: true };
  }
  const latencyMs = median * Math.exp(sigma * gaussian());
  const service = Math.min(latencyMs, timeoutMs);
  if (latencyMs > timeoutMs) books.timedOut++;
  books.serviceMs += service;
  books.lastEnd = Math.max(books.lastEnd, now + service);
  return { reply: benchReply, latencyMs };
}

const server = await startOpenAiServer({ script: () => script() });
process.stdout.write(JSON.stringify({ baseURL: server.baseURL }) + "\n");
process.stdin.resume();
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify({ ...books, spanMs: books.lastEnd - books.firstArrival }) + "\n");
  // Hung requests hold their sockets open: exit without waiting for them.
  process.exit(0);
});
