// Loopback OpenAI-protocol server with a heavy latency tail and hangs, for bench/tail-latency.ts. It keeps
// the books the bench needs: the service time of every request (its latency, or the client's timeout for
// a hang or a reply slower than it) and the span from the first arrival to the last answer, and the ideal span (the same requests with every slot busy).
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
  timeout: { type: "string", default: "120" }, seed: { type: "string", default: "1" }, concurrency: { type: "string", default: "8" },
} });
const median = Number(values.median), hangRate = Number(values["hang-rate"]), timeoutMs = Number(values.timeout) * 1000;
// Log-normal: ln(latency) ~ N(ln median, σ²), with p99 = factor × median ⇒ σ = ln(factor) / z(0.99).
const sigma = values.fixed ? 0 : Math.log(Number(values["p99-factor"])) / 2.3263478740408408;
const random = mulberry32(Number(values.seed));
const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

const events: Array<[number, number]> = [];
const services: number[] = [];
const books = { requests: 0, hangs: 0, timedOut: 0, serviceMs: 0, firstArrival: Infinity, lastEnd: 0 };
function script(): Step {
  const now = performance.now();
  books.requests++;
  books.firstArrival = Math.min(books.firstArrival, now);
  if (random() < hangRate) {
    events.push([now, 1], [now + timeoutMs, -1]);
    services.push(timeoutMs);
    books.hangs++; books.serviceMs += timeoutMs; books.lastEnd = Math.max(books.lastEnd, now + timeoutMs);
    return { hang: true };
  }
  const latencyMs = median * Math.exp(sigma * gaussian());
  const service = Math.min(latencyMs, timeoutMs);
  if (latencyMs > timeoutMs) books.timedOut++;
  books.serviceMs += service;
  events.push([now, 1], [now + service, -1]);
  services.push(service);
  books.lastEnd = Math.max(books.lastEnd, now + service);
  return { reply: benchReply, latencyMs };
}

/**
 * The concurrency ideal: the same requests, in arrival order, each started the moment one of C slots is
 * free. It includes the unavoidable drain at the end (fewer requests left than slots).
 */
function idealMakespan(c: number): number {
  const free = new Array<number>(c).fill(0);
  for (const s of services) {
    let k = 0;
    for (let i = 1; i < c; i++) if (free[i]! < free[k]!) k = i;
    free[k]! += s;
  }
  return Math.max(...free);
}

/** Share of the busy span spent at each number of requests in flight (0, 1, 2, …). */
function inFlightShares(): number[] {
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const at: number[] = [];
  let level = 0, t = events[0]?.[0] ?? 0;
  for (const [time, delta] of events) {
    at[level] = (at[level] ?? 0) + (time - t);
    level += delta; t = time;
  }
  const span = books.lastEnd - books.firstArrival;
  return Array.from(at, (ms) => +((ms ?? 0) / span).toFixed(3));
}

const server = await startOpenAiServer({ script: () => script() });
process.stdout.write(JSON.stringify({ baseURL: server.baseURL }) + "\n");
process.stdin.resume();
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify({ ...books, spanMs: books.lastEnd - books.firstArrival, idealMs: idealMakespan(Number(values.concurrency)), inFlight: inFlightShares() }) + "\n");
  // Hung requests hold their sockets open: exit without waiting for them.
  process.exit(0);
});
