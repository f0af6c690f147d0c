// Hugging Face hub names as bases: offline from a cache laid out on disk as huggingface_hub lays it out
// (models--org--repo/{blobs,refs,snapshots}), and online from a loopback server speaking the Hub routes
// @huggingface/hub calls (model info, tree, paths-info, resolve), with HF_TOKEN, gated repositories and HF_HUB_OFFLINE.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openGguf } from "../../src/gguf/reader.ts";
import { resolveBaseModel, type ResolvedBaseModel } from "../../src/model/base-model.ts";
import { writeCheckpoint } from "../fixtures/hf-checkpoint.ts";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "d2m-hub-"));
after(() => rmSync(root, { recursive: true, force: true }));

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const source = await writeCheckpoint("qwen2.5", { dir: join(root, "source"), dim: 16, layers: 1 });
const files = readdirSync(source.dir).sort();
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** A repository in the HF cache: blobs by hash, snapshot entries as relative symlinks, refs naming the commit. */
function layOutCache(cache: string, repo: string, from: string, names: string[], refs: Record<string, string>): string {
  const repoDir = join(cache, `models--${repo.replace("/", "--")}`);
  const snap = join(repoDir, "snapshots", COMMIT);
  mkdirSync(snap, { recursive: true });
  mkdirSync(join(repoDir, "blobs"), { recursive: true });
  for (const f of names) {
    const hash = sha256(join(from, f));
    copyFileSync(join(from, f), join(repoDir, "blobs", hash));
    symlinkSync(join("..", "..", "blobs", hash), join(snap, f));
  }
  for (const [ref, commit] of Object.entries(refs)) {
    mkdirSync(join(repoDir, "refs"), { recursive: true });
    writeFileSync(join(repoDir, "refs", ref), commit);
  }
  return snap;
}

const noOllama = join(root, "no-ollama");
const pathOf = (r: ResolvedBaseModel) => (r.kind === "tiny" ? "" : r.path);

test("org/repo[@revision] from a cache on disk, with HF_HUB_OFFLINE=1 and no network: converted once, named after the repo", async () => {
  const cache = join(root, "hf-cache");
  layOutCache(cache, "someorg/Tiny-Qwen", source.dir, files, { main: COMMIT, v1: COMMIT });
  const env = { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "1", OLLAMA_MODELS: noOllama };
  const convertCache = join(root, "converted");
  const r = await resolveBaseModel("someorg/Tiny-Qwen", { env, checkpointCache: convertCache });
  assert.equal(r.kind, "checkpoint");
  assert.ok(r.kind === "checkpoint" && r.checkpoint.repo === "someorg/Tiny-Qwen" && r.checkpoint.converted);
  const f = await openGguf(pathOf(r));
  assert.equal(f.meta("general.source.huggingface.repository"), "someorg/Tiny-Qwen", "the PEFT adapter's base_model_name_or_path comes from here");
  assert.equal(f.meta("general.architecture"), "qwen2");
  await f.close();
  const tagged = await resolveBaseModel("someorg/Tiny-Qwen@v1", { env, checkpointCache: convertCache });
  assert.equal(pathOf(tagged), pathOf(r));
  assert.ok(tagged.kind === "checkpoint" && !tagged.checkpoint.converted, "the same files: served from the conversion cache");
  const byCommit = await resolveBaseModel(`someorg/Tiny-Qwen@${COMMIT}`, { env, checkpointCache: convertCache });
  assert.equal(pathOf(byCommit), pathOf(r));
  await assert.rejects(resolveBaseModel("someorg/Tiny-Qwen@v2", { env, checkpointCache: convertCache }), /"someorg\/Tiny-Qwen@v2" is not in the Hugging Face cache .* HF_HUB_OFFLINE=1 forbids downloading it; fetch it .*hf download someorg\/Tiny-Qwen --revision v2/);

  // The same through the environment, as FINETUNE_MODEL_NAME would name it: `model info` reads the cache (HF_HOME/hub).
  const home = join(root, "hf-home");
  layOutCache(join(home, "hub"), "someorg/Tiny-Qwen", source.dir, files, { main: COMMIT });
  const info = spawnSync(process.execPath, [bin, "model", "info", "someorg/Tiny-Qwen", "--json"], { encoding: "utf8", env: { ...process.env, HF_HUB_CACHE: "", HF_HOME: home, HF_HUB_OFFLINE: "1" } });
  assert.equal(info.status, 0, info.stderr);
  const json = JSON.parse(info.stdout);
  assert.equal(json.repo, "someorg/Tiny-Qwen");
  assert.equal(json.architecture, "qwen2");
  assert.equal(json.trainable, true);

  // A GGUF-only repository in the cache is used as the GGUF it holds.
  const ggufRepo = join(root, "gguf-src");
  mkdirSync(ggufRepo);
  copyFileSync(pathOf(r), join(ggufRepo, "tiny-Q8_0.gguf"));
  layOutCache(cache, "someorg/Tiny-GGUF", ggufRepo, ["tiny-Q8_0.gguf"], { main: COMMIT });
  const g = await resolveBaseModel("someorg/Tiny-GGUF", { env, checkpointCache: convertCache });
  assert.equal(g.kind, "gguf");
  assert.ok(g.kind === "gguf" && g.path.endsWith(join("snapshots", COMMIT, "tiny-Q8_0.gguf")));
});

interface Seen { method: string; url: string; auth?: string }

/** The Hub routes @huggingface/hub 2.17 calls to download a model's files, for one repository; org/Gated answers 401. */
async function startLoopbackHub(repo: string, dir: string): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const names = readdirSync(dir).sort();
  const oid = (f: string) => sha256(join(dir, f));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    seen.push({ method: req.method!, url: url.pathname, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => { res.writeHead(status, { "Content-Type": "application/json", ...headers }); res.end(JSON.stringify(body)); };
    if (url.pathname.includes("org/Gated")) return json(401, { error: "Access to model org/Gated is restricted. You must have access to it and be authenticated to access it. Please log in." }, { "X-Error-Code": "GatedRepo" });
    const p = url.pathname;
    if (p === `/api/models/${repo}/revision/main`) return json(200, { _id: "x", id: repo, sha: COMMIT, private: false, siblings: names.map((rfilename) => ({ rfilename })) });
    if (p === `/api/models/${repo}/tree/${COMMIT}`) return json(200, names.map((path) => ({ type: "file", path, oid: oid(path), size: statSync(join(dir, path)).size })));
    if (p === `/api/models/${repo}/paths-info/${COMMIT}` && req.method === "POST") {
      let body = "";
      req.on("data", (d) => { body += d; }).on("end", () => {
        const paths = (JSON.parse(body) as { paths: string[] }).paths;
        json(200, paths.map((path) => ({ type: "file", path, oid: oid(path), size: statSync(join(dir, path)).size, lfs: { oid: oid(path), size: statSync(join(dir, path)).size }, lastCommit: { id: COMMIT, title: "init", date: "2025-01-01T00:00:00Z" } })));
      });
      return;
    }
    const m = new RegExp(`^/${repo}/resolve/${COMMIT}/(.+)$`).exec(p);
    if (m && names.includes(m[1]!)) {
      const data = readFileSync(join(dir, m[1]!));
      const headers = { ETag: `"${oid(m[1]!)}"`, "X-Repo-Commit": COMMIT };
      if (req.headers.range === "bytes=0-0") { res.writeHead(206, { ...headers, "Content-Range": `bytes 0-0/${data.length}`, "Content-Length": "1" }); return res.end(data.subarray(0, 1)); }
      res.writeHead(200, { ...headers, "Content-Length": String(data.length) });
      return res.end(data);
    }
    json(404, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((ok) => server.close(() => ok())) };
}

test("online: the checkpoint's files are downloaded into the HF cache with HF_TOKEN (never logged); the next run needs no network; gated → what to do", async () => {
  // Sharded, with a second copy of the weights as Mistral's repos hold one (consolidated.safetensors): not fetched.
  const sharded = await writeCheckpoint("qwen2.5", { dir: join(root, "online-src"), dim: 16, layers: 1, shards: 2 });
  copyFileSync(join(sharded.dir, "model-00001-of-00002.safetensors"), join(sharded.dir, "consolidated.safetensors"));
  const hub = await startLoopbackHub("someorg/Online-Qwen", sharded.dir);
  const cache = join(root, "hf-online");
  const token = "hf_secretTOKEN123";
  const env = { HF_HUB_CACHE: cache, HF_TOKEN: token, OLLAMA_MODELS: noOllama, HF_ENDPOINT: hub.url };
  try {
    const r = await resolveBaseModel("someorg/Online-Qwen", { env, checkpointCache: join(root, "converted-online") });
    assert.equal(r.kind, "checkpoint");
    const snap = join(cache, "models--someorg--Online-Qwen", "snapshots", COMMIT);
    assert.deepEqual(readdirSync(snap).sort(), readdirSync(sharded.dir).filter((f) => f !== "consolidated.safetensors").sort());
    assert.equal(readFileSync(join(cache, "models--someorg--Online-Qwen", "refs", "main"), "utf8"), COMMIT);
    assert.ok(hub.seen.length > 0 && hub.seen.every((s) => s.auth === `Bearer ${token}`), "every request carries HF_TOKEN");
    const downloads = hub.seen.filter((s) => s.method === "GET" && s.url.includes("/resolve/")).length;

    // Now offline: the cache is enough.
    const again = await resolveBaseModel("someorg/Online-Qwen", { env: { ...env, HF_HUB_OFFLINE: "1" }, checkpointCache: join(root, "converted-online") });
    assert.equal(pathOf(again), pathOf(r));
    assert.equal(hub.seen.filter((s) => s.method === "GET" && s.url.includes("/resolve/")).length, downloads, "nothing fetched again");

    await assert.rejects(resolveBaseModel("org/Gated", { env }), (e: Error) => {
      assert.match(e.message, /"org\/Gated" is gated or private \(401: Access to model org\/Gated is restricted/);
      assert.match(e.message, /accept its license on http:\/\/127\.0\.0\.1:\d+\/org\/Gated while logged in, then set HF_TOKEN .*\(the HF_TOKEN set now is not allowed to read it\)/);
      assert.doesNotMatch(e.message, /hf_secret/);
      return true;
    });
    await assert.rejects(resolveBaseModel("someorg/Missing", { env }), /no Hugging Face model "someorg\/Missing" on http:\/\/127\.0\.0\.1:\d+; check the name/);
  } finally {
    await hub.close();
  }
  assert.ok(!existsSync(join(cache, "models--org--Gated", "snapshots")));
});
