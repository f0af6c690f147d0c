// One writer per output: a lock file beside it (`<output>.lock`) that says who holds it, stale-lock aware.
//
// Taken atomically (the lock is written whole to a private file, then hard-linked into place: the link
// fails if a lock exists). A held lock names its pid, host, step and start time, and its mtime is touched
// every staleMs / 4 while held. A lock is stale, and is taken over, when its process is gone (same host,
// pid not running) or when its heartbeat stopped for staleMs (another host, or a host name that changed,
// as a container's does on restart). Released on completion, on failure, and on process exit; only a
// kill -9 leaves one behind, and that one is stale by the rules above.
import { linkSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";

export const lockPath = (target: string): string => `${target}.lock`;

export interface LockInfo { pid: number; host: string; step: string; startedAt: string }

export interface OutputLock {
  readonly path: string;
  release(): void;
}

export interface LockOptions {
  step: string;
  /** A heartbeat older than this makes another host's lock stale (default 60 s). */
  staleMs?: number;
}

const held = new Set<string>();
let exitHookInstalled = false;

/** Takes the lock on `target` or fails with E_LOCKED naming the run that holds it. */
export function lockOutput(target: string, opts: LockOptions): OutputLock {
  const path = lockPath(target);
  const staleMs = opts.staleMs ?? 60_000;
  const info: LockInfo = { pid: process.pid, host: hostname(), step: opts.step, startedAt: new Date().toISOString() };
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(temp, JSON.stringify(info) + "\n");
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(temp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const holder = readLock(path);
        if (holder && !isStale(path, holder, staleMs)) throw lockedError(target, path, holder, opts.step);
        if (attempt >= 2) throw lockedError(target, path, holder, opts.step);
        log.info(`${opts.step}: taking over a stale lock on ${target}${holder ? ` (pid ${holder.pid} on ${holder.host} is gone)` : ""}`);
        try { unlinkSync(path); } catch { /* another run removed it first */ }
      }
    }
  } finally {
    try { unlinkSync(temp); } catch { /* already gone */ }
  }

  held.add(path);
  installExitHook();
  const heartbeat = setInterval(() => {
    try { const now = new Date(); utimesSync(path, now, now); } catch { /* removed under us: nothing to keep alive */ }
  }, Math.max(1000, staleMs / 4));
  heartbeat.unref();
  return {
    path,
    release() {
      clearInterval(heartbeat);
      if (!held.delete(path)) return;
      removeIfOurs(path);
    },
  };
}

function readLock(path: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(path, "utf8"));
    return typeof v?.pid === "number" && typeof v?.host === "string" ? v : undefined;
  } catch {
    return undefined; // unreadable or removed meanwhile: treated as stale
  }
}

function isStale(path: string, holder: LockInfo, staleMs: number): boolean {
  if (holder.host === hostname()) {
    // Our own pid in a lock we do not hold: a pid reused after a restart, not a live writer.
    if (holder.pid === process.pid) return !held.has(path);
    return !processAlive(holder.pid);
  }
  try {
    return Date.now() - statSync(path).mtimeMs > staleMs;
  } catch {
    return true;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by someone else
  }
}

function lockedError(target: string, path: string, holder: LockInfo | undefined, step: string): PipelineError {
  const who = holder ? `pid ${holder.pid} on ${holder.host} (${holder.step}, started ${holder.startedAt})` : "another run";
  return new PipelineError(
    "E_LOCKED",
    `${target} is being written by ${who}; wait for it to finish or stop it (if that process is gone, delete ${path})`,
    { stage: step },
  );
}

function removeIfOurs(path: string): void {
  const holder = readLock(path);
  if (holder && (holder.pid !== process.pid || holder.host !== hostname())) return;
  try { unlinkSync(path); } catch { /* already gone */ }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => { for (const path of held) removeIfOurs(path); });
}
