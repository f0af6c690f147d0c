// Follows a step's resumable output while the step is still writing it, so the next step can start at
// once (one stream through the whole pipeline). Only committed bytes are read — the ledger says how many —
// so a resumed run never sees bytes a killed run left past its last commit.
import { open, stat, type FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { readLedger, workPath } from "../streams/ledger.ts";

export interface TailOptions {
  /** The step's target path (its work file is `<path>.partial` until it completes). */
  path: string;
  /** True once the writing step's promise has settled successfully: its ledger is then final. */
  done: () => boolean;
  /** Settled with an error: stop with it. */
  failed: () => unknown;
  /** Ledgers written before this moment belong to an earlier run and are not trusted (ms since epoch). */
  since: number;
  pollMs?: number;
  signal?: AbortSignal;
}

async function openEither(path: string): Promise<FileHandle | undefined> {
  for (const p of [workPath(path), path]) {
    try { return await open(p, "r"); } catch { /* try the other */ }
  }
  return undefined;
}

/** The committed bytes of a growing output, in order, ending when the step completes. */
export function tailOutput(opts: TailOptions): Readable {
  const poll = opts.pollMs ?? 25;
  async function* bytes(): AsyncGenerator<Buffer> {
    let pos = 0;
    let fh: FileHandle | undefined;
    try {
      for (;;) {
        opts.signal?.throwIfAborted();
        const err = opts.failed();
        if (err) throw err;
        const finished = opts.done();
        const ledger = await readLedger(opts.path).catch(() => undefined);
        const trusted = ledger && (finished || Date.parse(ledger.updatedAt) >= opts.since);
        let upto = trusted ? ledger.bytes : pos;
        if (finished && !ledger) upto = (await stat(opts.path).catch(() => undefined))?.size ?? pos;
        if (upto > pos) {
          fh ??= await openEither(opts.path);
          if (!fh) { await sleep(poll); continue; }
          while (pos < upto) {
            const buf = Buffer.allocUnsafe(Math.min(1 << 20, upto - pos));
            const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
            if (bytesRead === 0) break;
            pos += bytesRead;
            yield buf.subarray(0, bytesRead);
          }
        }
        if (finished && (!ledger || ledger.complete) && pos >= upto) return;
        if (upto <= pos) await sleep(poll);
      }
    } finally {
      await fh?.close();
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}
