// Bench: the LLM client layer against a loopback OpenAI server (own process) with 200 ms latency.
//   node --import tsx bench/providers/client-throughput.ts [--n 400]
// Claims (issue 4): concurrency 16 → ≥ 95% of 80 req/s; --rpm 600 → ≥ 95% of 10/s and no 429 from a server
// enforcing 600 rpm; 10% 429s + 5% 500s → every request succeeds exactly once; CPU time per request of the layer.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import { setLogLevel } from "../../src/log.ts";
import { createClient, type ClientConfig } from "../../src/providers/client.ts";
import { openaiProvider } from "../../src/providers/openai.ts";
import { DEFAULT_PRICES } from "../../src/providers/prices.ts";

const { values } = parseArgs({ options: { n: { type: "string", default: "400" } } });
const N = Number(values.n);
const LATENCY = 200;
setLogLevel("quiet");

interface Server { baseURL: string; stats(): Promise<Record<string, number>>; stop(): void }
async function startServer(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/servers/run.ts", "--vendor", "openai", "--latency", String(LATENCY), ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const queue: Array<(l: string) => void> = [];
  lines.on("line", (l) => queue.shift()?.(l));
  const next = () => new Promise<string>((r) => queue.push(r));
  const first = JSON.parse(await next()) as { baseURL: string };
  return {
    baseURL: first.baseURL,
    async stats() { const p = next(); child.stdin!.write("stats\n"); return JSON.parse(await p); },
    stop() { child.stdin!.end(); },
  };
}

const cfg = (over: Partial<ClientConfig>): ClientConfig => ({ step: "bench", concurrency: 16, timeoutMs: 30_000, maxRetries: 10, prices: DEFAULT_PRICES, temperature: 0, ...over });

async function run(label: string, serverArgs: string[], over: Partial<ClientConfig>, n: number) {
  const server = await startServer(serverArgs);
  const client = createClient(openaiProvider({ model: "bench-model", apiKey: "sk-bench", baseURL: server.baseURL }), cfg(over));
  // Warm the connection pool and JIT so the timing measures steady state.
  await Promise.all(Array.from({ length: 16 }, (_, i) => client.generate({ messages: [{ role: "user", content: `warm ${i}` }] })));
  const before = await server.stats();
  const warmRetries = client.usage().total.retries;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const prompts = Array.from({ length: n }, (_, i) => `item ${i}`);
  const replies = await Promise.all(prompts.map((p) => client.generate({ messages: [{ role: "user", content: p }] }).then((r) => r.text, (e: Error) => `FAILED ${e.message}`)));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = await server.stats();
  await client.close();
  server.stop();
  const wrong = replies.filter((r, i) => r !== `echo: item ${i}`).length;
  const row = {
    label,
    n,
    seconds: +seconds.toFixed(2),
    rate: +(n / seconds).toFixed(2),
    cpuMsPerReq: +((cpu.user + cpu.system) / 1000 / n).toFixed(3),
    server429: after.s429 - before.s429,
    server500: after.s500 - before.s500,
    serverCalls: after.calls - before.calls,
    lostOrWrong: wrong,
    duplicates: after.duplicates,
    retries: client.usage().total.retries - warmRetries,
  };
  console.log(JSON.stringify(row));
  return row;
}

/** The same load through the bare SDK backend with only p-limit: the floor our layer is compared to. */
async function bare(n: number) {
  const server = await startServer([]);
  const provider = openaiProvider({ model: "bench-model", apiKey: "sk-bench", baseURL: server.baseURL });
  const limit = pLimit(16);
  await Promise.all(Array.from({ length: 16 }, (_, i) => limit(() => provider.generate({ messages: [{ role: "user", content: `warm ${i}` }] }))));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => limit(() => provider.generate({ messages: [{ role: "user", content: `item ${i}` }] }))));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  server.stop();
  const row = { label: "bare SDK + p-limit(16)", n, seconds: +seconds.toFixed(2), rate: +(n / seconds).toFixed(2), cpuMsPerReq: +((cpu.user + cpu.system) / 1000 / n).toFixed(3) };
  console.log(JSON.stringify(row));
  return row;
}

const a = await run("concurrency 16, no limit", [], { concurrency: 16 }, N);
const b = await run("--rpm 600 (server enforces 600 rpm)", ["--rpm-limit", "600"], { concurrency: 16, rpm: 600 }, Math.min(N, 150));
const c = await run("10% 429 + 5% 500 injected", ["--p429", "0.1", "--p500", "0.05", "--retry-after", "1"], { concurrency: 16 }, Math.min(N, 300));
const base = await bare(N);

const checks = [
  [`concurrency 16: ${a.rate}/s ≥ 76/s (95% of 16/0.2 s)`, a.rate >= 76],
  [`rpm 600: ${b.rate}/s ≥ 9.5/s (95% of 10/s)`, b.rate >= 9.5],
  [`rpm 600: server sent ${b.server429} 429s (want 0)`, b.server429 === 0],
  [`faults: ${c.lostOrWrong} lost/wrong, ${c.duplicates} duplicated (want 0, 0); ${c.server429} 429s + ${c.server500} 500s retried`, c.lostOrWrong === 0 && c.duplicates === 0],
  [`CPU per request: layer ${a.cpuMsPerReq} ms vs bare SDK ${base.cpuMsPerReq} ms`, true],
] as const;
console.log("\n| claim | result |\n|---|---|");
for (const [text, ok] of checks) console.log(`| ${text} | ${ok ? "PASS" : "FAIL"} |`);
process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
