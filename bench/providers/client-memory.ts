// Bench: heap the LLM client layer keeps per request. N requests (16 in flight) through createClient(openaiProvider)
// and through the bare openaiProvider, against the loopback OpenAI server in its own process (no latency), with
// forced GC before each reading: heap used after every 10k requests, relative to after a warm-up.
//   node --import tsx bench/providers/client-memory.ts [--n 50000] [--every 10000] [--mode both|client|bare] [--vendor openai]
// Each mode runs in its own child process with --expose-gc, so one cannot inherit the other's garbage.
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setLogLevel } from "../../src/log.ts";
import { createClient } from "../../src/providers/client.ts";
import { claudeProvider } from "../../src/providers/claude.ts";
import { geminiProvider } from "../../src/providers/gemini.ts";
import { ollamaProvider } from "../../src/providers/ollama.ts";
import { openaiProvider } from "../../src/providers/openai.ts";
import { DEFAULT_PRICES } from "../../src/providers/prices.ts";
import type { GenerateRequest, GenerateResult } from "../../src/providers/types.ts";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "50000" },
    every: { type: "string", default: "10000" },
    mode: { type: "string", default: "both" },
    vendor: { type: "string", default: "openai" },
    child: { type: "boolean", default: false },
  },
});
const N = Number(values.n), EVERY = Number(values.every), CONCURRENCY = 16;

if (!values.child) {
  // Parent: one child per mode, each with a GC we can force.
  const modes = values.mode === "both" ? ["bare", "client"] : [values.mode!];
  for (const mode of modes) {
    const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), "--child", "--mode", mode, "--vendor", values.vendor!, "--n", String(N), "--every", String(EVERY)], { stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  process.exit(0);
}

setLogLevel("quiet");
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc (the parent does this)");

async function startServer(): Promise<{ baseURL: string; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/servers/run.ts", "--vendor", values.vendor!], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise<string>((r) => createInterface({ input: child.stdout! }).once("line", r));
  return { baseURL: (JSON.parse(line) as { baseURL: string }).baseURL, stop: () => child.stdin!.end() };
}

/** Heap used after a full GC, in MB; several rounds so weak references and finalizers settle. */
async function settledHeapMB(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const server = await startServer();
const backends = { openai: openaiProvider, claude: claudeProvider, gemini: geminiProvider, ollama: ollamaProvider };
const backend = backends[values.vendor as keyof typeof backends];
if (!backend) throw new Error(`unknown --vendor ${values.vendor}`);
const provider = backend({ model: "bench-model", apiKey: "sk-bench", baseURL: server.baseURL });
const client = values.mode === "client"
  ? createClient(provider, { step: "bench", concurrency: CONCURRENCY, timeoutMs: 30_000, maxRetries: 2, prices: DEFAULT_PRICES, temperature: 0 })
  : undefined;
const generate: (req: GenerateRequest) => Promise<GenerateResult> = client ? (r) => client.generate(r) : (r) => provider.generate(r);

// 16 workers, each with one request in flight: the same load in both modes, no queue of pending promises.
let next = 0;
async function run(count: number): Promise<void> {
  const end = next + count;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < end) {
      const i = next++;
      const r = await generate({ messages: [{ role: "user", content: `item ${i}` }] });
      if (r.text !== `echo: item ${i}`) throw new Error(`wrong reply for item ${i}: ${r.text}`);
    }
  }));
}

await run(2000); // warm the connection pool and the JIT
const base = await settledHeapMB();
const t0 = performance.now();
const rows: Array<{ requests: number; heapGrowthMB: number }> = [];
for (let done = 0; done < N; done += EVERY) {
  await run(Math.min(EVERY, N - done));
  rows.push({ requests: done + Math.min(EVERY, N - done), heapGrowthMB: +((await settledHeapMB()) - base).toFixed(1) });
}
const seconds = (performance.now() - t0) / 1000;
await client?.close();
server.stop();
const last = rows.at(-1)!;
console.log(JSON.stringify({
  mode: values.mode === "client" ? `createClient(${values.vendor}Provider)` : `bare ${values.vendor}Provider`,
  n: N, concurrency: CONCURRENCY, baseHeapMB: +base.toFixed(1), growth: rows,
  bytesPerRequest: Math.round((last.heapGrowthMB * 2 ** 20) / last.requests), seconds: +seconds.toFixed(1),
}));
