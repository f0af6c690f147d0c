// The converted-checkpoint cache: a record beside each GGUF says what it came from; a new conversion of a changed
// checkpoint removes that checkpoint's old one (and no other's); `pipeline model cache` lists and prunes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { listCache, pruneCache } from "../../src/hf/checkpoint-cache.ts";
import { checkpointGguf, CONVERTER_VERSION } from "../../src/hf/convert.ts";
import { writeCheckpoint } from "../fixtures/hf-checkpoint.ts";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "d2m-ckpt-cache-"));
after(() => rmSync(root, { recursive: true, force: true }));

const ggufs = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".gguf")).sort();
const later = (path: string, ms: number) => utimesSync(path, new Date(), new Date(Date.now() + ms));

test("a changed checkpoint's new conversion removes its old one, not another checkpoint's; each entry has its record", async () => {
  const cache = join(root, "auto");
  const a = await writeCheckpoint("llama3", { dir: join(root, "a"), dtype: "F16", dim: 32, layers: 1 });
  cpSync(a.dir, join(root, "b"), { recursive: true });
  const a1 = await checkpointGguf(a.dir, { cacheDir: cache });
  const b1 = await checkpointGguf(join(root, "b"), { cacheDir: cache });
  assert.equal(ggufs(cache).length, 2, "two checkpoints, two entries");
  const rec = JSON.parse(readFileSync(a1.path.replace(/\.gguf$/, ".json"), "utf8")) as { source: string; converterVersion: number; files: Array<{ path: string }> };
  assert.equal(rec.source, a.dir);
  assert.equal(rec.converterVersion, CONVERTER_VERSION);
  assert.ok(rec.files.some((f) => basename(f.path) === "config.json") && rec.files.some((f) => f.path.endsWith(".safetensors")), "config and weights are recorded");
  assert.deepEqual(listCache(cache, CONVERTER_VERSION).map((e) => e.state), ["current", "current"]);

  later(join(a.dir, "config.json"), 5000); // a new revision of a's files
  assert.deepEqual(listCache(cache, CONVERTER_VERSION).find((e) => e.path === a1.path)?.state, "stale");
  const a2 = await checkpointGguf(a.dir, { cacheDir: cache });
  assert.equal(a2.converted, true);
  assert.equal(existsSync(a1.path), false, "the old conversion of a is gone");
  assert.equal(existsSync(a1.path.replace(/\.gguf$/, ".json")), false, "with its record");
  assert.deepEqual(ggufs(cache), [basename(a2.path), basename(b1.path)].sort(), "b's entry is kept");
});

test("prune removes changed, gone, unlabelled and dead partial entries and keeps current ones and a live partial; --all every entry", async () => {
  const cache = join(root, "prune");
  const keep = await writeCheckpoint("llama3", { dir: join(root, "keep"), dtype: "F16", dim: 32, layers: 1 });
  cpSync(keep.dir, join(root, "gone"), { recursive: true });
  cpSync(keep.dir, join(root, "changed"), { recursive: true });
  const kept = await checkpointGguf(keep.dir, { cacheDir: cache });
  const gone = await checkpointGguf(join(root, "gone"), { cacheDir: cache });
  const changed = await checkpointGguf(join(root, "changed"), { cacheDir: cache });
  rmSync(join(root, "gone"), { recursive: true });
  writeFileSync(join(root, "changed", "tokenizer_config.json"), readFileSync(join(root, "changed", "tokenizer_config.json"), "utf8") + "\n");
  writeFileSync(join(cache, "old-0123456789abcdef.gguf"), "GGUF from before records"); // an entry of an older release
  writeFileSync(join(cache, "dead.gguf.partial"), "x");
  writeFileSync(join(cache, "live.gguf.partial"), "x");
  const now = Date.now();
  utimesSync(join(cache, "dead.gguf.partial"), new Date(now - 3_600_000), new Date(now - 3_600_000));

  const states = Object.fromEntries(listCache(cache, CONVERTER_VERSION).map((e) => [basename(e.path), e.state]));
  assert.deepEqual(states, {
    [basename(kept.path)]: "current", [basename(gone.path)]: "source gone", [basename(changed.path)]: "stale",
    "old-0123456789abcdef.gguf": "unlabelled", "dead.gguf.partial": "partial", "live.gguf.partial": "partial",
  });
  assert.equal(listCache(cache, CONVERTER_VERSION + 1).find((e) => e.path === kept.path)?.state, "stale", "a new converter version makes every entry stale");

  const removed = pruneCache(cache, CONVERTER_VERSION, { now }).map((e) => basename(e.path)).sort();
  assert.deepEqual(removed, [basename(changed.path), basename(gone.path), "dead.gguf.partial", "old-0123456789abcdef.gguf"].sort());
  assert.deepEqual(readdirSync(cache).sort(), [basename(kept.path), basename(kept.path).replace(/\.gguf$/, ".json"), "live.gguf.partial"].sort());

  pruneCache(cache, CONVERTER_VERSION, { all: true, now });
  assert.deepEqual(readdirSync(cache), ["live.gguf.partial"], "--all keeps only a conversion being written now");
});

test("CLI: `pipeline model cache` lists entries with state and source; --prune removes; --all alone is a usage error", async () => {
  const home = join(root, "cli-cache");
  const ck = await writeCheckpoint("llama3", { dir: join(root, "cli"), dtype: "F16", dim: 32, layers: 1 });
  const entry = await checkpointGguf(ck.dir, { cacheDir: join(home, "checkpoints") });
  writeFileSync(join(home, "checkpoints", "stray.gguf"), "GGUF");
  const env = { ...process.env, DOCS2MODEL_CACHE: home };
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, "model", "cache", ...args], { env, encoding: "utf8" });

  const list = cli("--json");
  assert.equal(list.status, 0, list.stderr);
  const shown = JSON.parse(list.stdout) as { dir: string; entries: Array<{ path: string; state: string; source: string }> };
  assert.equal(shown.dir, join(home, "checkpoints"));
  assert.deepEqual(shown.entries.map((e) => [basename(e.path), e.state, e.source ?? null]).sort(),
    [[basename(entry.path), "current", ck.dir], ["stray.gguf", "unlabelled", null]].sort());

  const bad = cli("--all");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--all goes with --prune/);

  const prune = cli("--prune");
  assert.equal(prune.status, 0, prune.stderr);
  assert.match(prune.stdout, /^stray\.gguf\t0 MB\t.*\tunlabelled\t$/m);
  assert.match(prune.stderr, /removed 1 entry/);
  assert.deepEqual(ggufs(join(home, "checkpoints")), [basename(entry.path)]);
});
