// Loopback OpenAI-protocol server for bench/data-steps.ts, in its own process so its CPU and memory are
// not the client's: answers generate-qa prompts with one grounded pair and judge prompts with scores.
//   node --import tsx bench/data-steps-server.ts --latency 100   → prints {"baseURL": …} on stdout
import { parseArgs } from "node:util";
import { startOpenAiServer } from "../test/fixtures/servers/openai.ts";
import { benchReply as reply } from "./data-steps-reply.ts";

const { values } = parseArgs({ options: { latency: { type: "string", default: "100" } } });

const server = await startOpenAiServer({ defaultReply: reply, latencyMs: Number(values.latency) });
process.stdout.write(JSON.stringify({ baseURL: server.baseURL }) + "\n");
process.stdin.resume();
process.stdin.on("end", () => void server.close().then(() => process.exit(0)));
