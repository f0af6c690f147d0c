// The folder walk (issue 19 § 4): links inside the input tree read once, links outside skipped with a warning
// unless --follow-symlinks, loops cut, FIFOs and sockets never opened.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { listFiles } from "../../src/transforms/folder-walk.ts";

const root = mkdtempSync(join(tmpdir(), "d2m-walk-"));
after(() => rmSync(root, { recursive: true, force: true }));

function tree() {
  const dir = mkdtempSync(join(root, "t-"));
  const docs = join(dir, "docs"), outside = join(dir, "outside");
  mkdirSync(join(docs, "sub"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(docs, "a.md"), "# A\nAlpha text.\n");
  writeFileSync(join(docs, "sub", "b.txt"), "Beta text.\n");
  writeFileSync(join(outside, "secret.txt"), "Outside the input folder.\n");
  symlinkSync(join(docs, "a.md"), join(docs, "link-to-a.md")); // inside: the same file again
  symlinkSync(join(docs, "sub"), join(docs, "sub-link")); // inside: the same folder again
  symlinkSync(docs, join(docs, "sub", "loop")); // back up the tree
  symlinkSync(join(outside, "secret.txt"), join(docs, "secret.txt")); // outside
  symlinkSync(join(dir, "nothing"), join(docs, "broken.md"));
  return { dir, docs, outside };
}

test("links inside the tree are read once, loops are cut, links outside and broken links are skipped by name", async () => {
  const { docs } = tree();
  const warnings: string[] = [];
  const files = await listFiles([docs], { warn: (m) => warnings.push(m) });
  assert.deepEqual(files.map((f) => f.slice(docs.length + 1)), ["a.md", "sub/b.txt"]);
  assert.ok(warnings.some((w) => w.includes("secret.txt") && /outside the input folder/.test(w) && /--follow-symlinks/.test(w)), warnings.join("\n"));
  assert.ok(warnings.some((w) => w.includes("broken.md") && /broken/.test(w)));
});

test("--follow-symlinks reads a link outside the folder, still once and without loops", async () => {
  const { docs } = tree();
  const files = await listFiles([docs], { followSymlinks: true, warn: () => {} });
  assert.deepEqual(files.map((f) => f.slice(docs.length + 1)), ["a.md", "secret.txt", "sub/b.txt"]);
});

test("a FIFO in the folder is skipped with a warning, never opened (the run does not hang)", async (t) => {
  const { docs } = tree();
  const fifo = join(docs, "pipe.txt");
  if (spawnSync("mkfifo", [fifo]).status !== 0) return t.skip("mkfifo is not available here");
  const warnings: string[] = [];
  const files = await listFiles([docs], { warn: (m) => warnings.push(m) });
  assert.ok(!files.includes(fifo));
  assert.ok(warnings.some((w) => w.includes("pipe.txt") && /FIFO/.test(w)), warnings.join("\n"));
  // The whole chunk step too: it finishes, reads the two documents and says why the FIFO was skipped.
  const out = join(docs, "..", "out");
  const r = spawnSync(resolve("bin/pipeline"), ["chunk", "-i", docs, "-o", out], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /pipe\.txt: a FIFO, not a document; skipped/);
  assert.match(r.stderr, /secret\.txt: a symlink to .*outside the input folder; skipped/);
  const chunks = execFileSync("cat", [join(out, "chunks.ndjson")], { encoding: "utf8" }).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual([...new Set(chunks.map((c) => c.source.split("/").pop()))].sort(), ["a.md", "b.txt"]);
});
