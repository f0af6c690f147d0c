// --batch as a user runs it: bin/pipeline in a child process killed with SIGKILL while its batch runs, then
// --resume (the server counts batch creates: nothing is submitted twice); `pipeline batches list|status|cancel`.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadSettings } from "../../src/config.ts";
import { setLogLevel } from "../../src/log.ts";
import { runGenerateQa } from "../../src/steps/generate-qa.ts";
import { runCli, type CliRun } from "../fixtures/cli-run.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { replyFor } from "../fixtures/batch-replies.ts";
import { chunksOf, guideText } from "../transforms/qa-fixtures.ts";

setLogLevel("quiet");
const KEY = "sk-test-batchcli-SECRET-0123456789";

const run = (args: string[], env: Record<string, string>, killWhen?: (kill: () => void) => void): Promise<CliRun> =>
  runCli(args, { env: { PIPELINE_CACHE: "false", OPENAI_API_KEY: KEY, ...env }, ...(killWhen ? { killWhen } : {}) });

/** SIGKILL once the batch ledger beside `output` holds a created batch (the run is then polling it). */
function killOnceSubmitted(output: string): (kill: () => void) => void {
  return (kill) => {
    const poll = setInterval(() => {
      try {
        const ledger = JSON.parse(readFileSync(`${output}.batches.json`, "utf8"));
        if (ledger.batches.some((b: { id?: string }) => b.id)) { clearInterval(poll); setTimeout(kill, 30); }
      } catch { /* not there yet */ }
    }, 5);
  };
}

const CHUNKS = chunksOf(guideText(10), 400).length;

function project() {
  const dir = mkdtempSync(join(tmpdir(), "batch-cli-"));
  mkdirSync(join(dir, "chunks"));
  writeFileSync(join(dir, "chunks", "chunks.ndjson"), chunksOf(guideText(10), 400).map((c) => JSON.stringify(c)).join("\n") + "\n");
  return dir;
}

test("SIGKILL while a batch runs, then --resume: the same batch is polled, nothing submitted twice, same bytes as a synchronous run; `batches list` and `status` show it", async () => {
  const sync = await startOpenAiServer({ defaultReply: replyFor, apiKey: KEY });
  const server = await startOpenAiServer({ defaultReply: replyFor, apiKey: KEY, batch: { polls: 40 } });
  try {
    const dir = project();
    const out = join(dir, "qa", "training_data.json");
    await runGenerateQa(
      loadSettings({ env: { OPENAI_API_KEY: KEY }, cwd: tmpdir(), flags: { provider: "openai", model: "gpt-4o-mini", baseUrl: sync.baseURL, cache: false } }),
      { input: join(dir, "chunks", "chunks.ndjson"), output: join(dir, "sync", "training_data.json"), resume: false },
    );
    const llm = ["--provider", "openai", "--model", "gpt-4o-mini", "--base-url", server.baseURL, "--no-cache", "--batch", "-i", join(dir, "chunks"), "-o", join(dir, "qa")];
    const env = { PIPELINE_BATCH_POLL_SEC: "0.02" };
    const killed = await run(["generate-qa", ...llm], env, killOnceSubmitted(out));
    assert.equal(killed.signal, "SIGKILL", killed.stderr);
    assert.equal(server.batches.creates, 1);

    const list = await run(["batches", "list", "-o", join(dir, "qa")], env);
    assert.equal(list.code, 0, list.stderr);
    const id = [...server.batches.jobs.keys()][0]!;
    assert.match(list.stdout, new RegExp(`generate-qa · openai/gpt-4o-mini[^]*${id}  round 1  ${CHUNKS} request\\(s\\)  (submitted|in_progress)\n`), "the state the ledger last saw, before the kill");
    const status = await run(["batches", "status", "-o", join(dir, "qa")], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`${id} .* in_progress  \\d+/${CHUNKS} done`));

    const again = await run(["generate-qa", ...llm], env);
    assert.equal(again.code, 1, "a run without --resume refuses while batches are in flight");
    assert.match(again.stderr, /still in flight .* rerun with --resume/);

    const resumed = await run(["generate-qa", ...llm, "--resume"], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming 1 batch\(es\)/);
    assert.match(resumed.stderr, new RegExp(`batch \\d+/${CHUNKS} request\\(s\\) done in 1 batch\\(es\\)(, ETA ~\\d+ s)?`), "progress with done/total");
    assert.equal(server.batches.creates, 1, "no batch submitted again");
    assert.equal(server.batches.lines, CHUNKS);
    assert.equal(readFileSync(out, "utf8"), readFileSync(join(dir, "sync", "training_data.json"), "utf8"));
    assert.match(resumed.stderr, new RegExp(`${CHUNKS} calls \\(${CHUNKS} by batch, at batch prices\\)`));
    for (const r of [killed, list, status, again, resumed]) assert.ok(!(r.stdout + r.stderr).includes(KEY), "key never printed");
  } finally {
    await sync.close();
    await server.close();
  }
});

test("`batches cancel` stops a running batch; --resume keeps nothing lost: the cancelled requests go out in a new batch", async () => {
  const sync = await startOpenAiServer({ defaultReply: replyFor, apiKey: KEY });
  const server = await startOpenAiServer({ defaultReply: replyFor, apiKey: KEY, batch: { polls: (job) => (job === 1 ? 1000 : 1) } });
  try {
    const dir = project();
    const out = join(dir, "qa", "training_data.json");
    const llm = ["--provider", "openai", "--model", "gpt-4o-mini", "--base-url", server.baseURL, "--no-cache", "--batch", "-i", join(dir, "chunks"), "-o", join(dir, "qa")];
    const env = { PIPELINE_BATCH_POLL_SEC: "0.02", PIPELINE_BATCH_SYNC_BELOW: "0" };
    const killed = await run(["generate-qa", ...llm], env, killOnceSubmitted(out));
    assert.equal(killed.signal, "SIGKILL");
    const cancel = await run(["batches", "cancel", "-o", join(dir, "qa")], env);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /cancel requested/);
    assert.ok([...server.batches.jobs.values()][0]!.cancelled);

    const resumed = await run(["generate-qa", ...llm, "--resume"], { ...env, PIPELINE_MAX_RETRIES: "2" });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(server.batches.creates, 2, "the cancelled requests were submitted once more");
    await runGenerateQa(
      loadSettings({ env: { OPENAI_API_KEY: KEY }, cwd: tmpdir(), flags: { provider: "openai", model: "gpt-4o-mini", baseUrl: sync.baseURL, cache: false } }),
      { input: join(dir, "chunks", "chunks.ndjson"), output: join(dir, "sync", "training_data.json"), resume: false },
    );
    assert.equal(readFileSync(out, "utf8"), readFileSync(join(dir, "sync", "training_data.json"), "utf8"));
  } finally {
    await sync.close();
    await server.close();
  }
});
