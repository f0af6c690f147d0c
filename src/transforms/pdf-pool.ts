// A small pool of worker threads extracting PDF text with one engine (pdf-worker.mjs). Each document's pages come
// back in batches as they are extracted, with backpressure; callers consume them in their own order.
// Workers are recycled (ended, then respawned on demand) after a number of documents or pages, when their engine's
// heap has grown past a bound, and after any failure: a wasm heap only grows, and a failed parse may leave state.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

export const PDF_ENGINES = ["pdfium", "pdf-parse"] as const;
export type PdfEngine = (typeof PDF_ENGINES)[number];

/** "encrypted" and "corrupt" are the same for every engine (each engine file maps its own errors to them). */
export class PdfParseError extends Error {
  constructor(readonly kind: "encrypted" | "corrupt" | "error" | "worker", message: string) { super(message); this.name = "PdfParseError"; }
}

export interface PdfPoolOptions {
  engine?: PdfEngine;
  /** Worker threads (default: 2, or fewer cores). */
  size?: number;
  /** Pages per message from a worker. */
  batchPages?: number;
  /** Batches a worker may extract ahead of the reader. */
  credit?: number;
  /** A worker is replaced after this many documents, or pages, or bytes of engine heap (checked after each document). */
  recycleDocs?: number;
  recyclePages?: number;
  recycleHeapBytes?: number;
}

type FromWorker =
  | { type: "pages"; id: number; pages: string[] }
  | { type: "end"; id: number; total: number; heapBytes: number }
  | { type: "error"; id: number; error: { kind: PdfParseError["kind"]; message: string } };

interface Job {
  id: number;
  data: Uint8Array;
  transfer: boolean;
  batches: string[][];
  total?: number;
  error?: Error;
  /** Wakes the reader waiting for the next batch, the end or an error. */
  wake?: () => void;
  slot?: Slot;
}
interface Slot { worker: Worker; job?: Job; docs: number; pages: number; retiring: boolean }

export class PdfPool {
  readonly engine: PdfEngine;
  private readonly o: Required<Omit<PdfPoolOptions, "engine">>;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  /** PDFium's wasm, compiled once here and shared by every worker (pdf-engine-pdfium.mjs). */
  private wasmModule?: Promise<WasmModule>;
  private compiled?: WasmModule;
  /** Workers started so far (recycling shows here; tests read it). */
  spawned = 0;

  constructor(opts: PdfPoolOptions = {}) {
    this.engine = opts.engine ?? "pdfium";
    this.o = {
      size: Math.max(1, opts.size ?? Math.min(2, availableParallelism())),
      batchPages: opts.batchPages ?? 16,
      // 256 pages (about 1 MB of text) ahead: enough to keep a worker busy while the main thread chunks a big
      // document in one go, small next to the document's own text, which the reader gathers anyway.
      credit: opts.credit ?? 16,
      recycleDocs: opts.recycleDocs ?? 200,
      recyclePages: opts.recyclePages ?? 20_000,
      // PDFium's wasm memory starts at 17.8 MB and never shrinks; documents of a few MB stay within it, a big one
      // grows it by about its file size (31 MB after an 8.5 MB, 2,000-page manual). Past 20 MB the worker is replaced,
      // so a grown heap is not carried through the rest of the run (on the 270-PDF corpus: 3 replacements, after the
      // 3 biggest files). pdf.js's JS heap is collected, so only a heap that stays big replaces a pdf-parse worker.
      recycleHeapBytes: opts.recycleHeapBytes ?? (this.engine === "pdfium" ? 20 : 128) * 2 ** 20,
    };
  }

  /**
   * The document's page texts, a batch at a time, in page order; the generator's return value is the page count.
   * Throws PdfParseError. Leaving the loop early stops the worker (it is replaced). `transfer`: the caller is done
   * with `data`, so its memory moves to the worker (no copy; `data` is emptied) when it owns a whole ArrayBuffer.
   */
  async *pages(data: Uint8Array, opts: { transfer?: boolean } = {}): AsyncGenerator<string[], number> {
    if (this.engine === "pdfium") this.compiled ??= await (this.wasmModule ??= compilePdfium());
    const job: Job = { id: this.nextId++, data, batches: [], transfer: opts.transfer === true };
    this.queue.push(job);
    this.pump();
    let finished = false;
    try {
      for (;;) {
        const batch = job.batches.shift();
        if (batch) {
          job.slot?.worker.postMessage({ type: "more", id: job.id });
          yield batch;
          continue;
        }
        if (job.error) throw job.error;
        if (job.total !== undefined) { finished = true; return job.total; }
        await new Promise<void>((resolve) => { job.wake = resolve; });
      }
    } finally {
      if (!finished) this.abandon(job);
    }
  }

  /** Stop the workers; pending jobs fail. Idle workers are unref'd, so forgetting this never hangs. */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) this.fail(job, new Error("PDF pool closed"));
    await Promise.all(this.slots.splice(0).map((s) => {
      s.retiring = true;
      if (s.job) this.fail(s.job, new Error("PDF pool closed"));
      return s.worker.terminate();
    }));
  }

  private pump(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.job && !s.retiring);
      if (!slot && this.slots.length < this.o.size) slot = this.spawn();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      job.slot = slot;
      slot.worker.ref();
      // Transfer, never clone: the caller's own buffer when it gave it up, else a copy (its buffer stays usable).
      const whole = job.data.byteOffset === 0 && job.data.byteLength === job.data.buffer.byteLength && job.data.buffer instanceof ArrayBuffer;
      const data = job.transfer && whole ? job.data : new Uint8Array(job.data);
      job.data = new Uint8Array(0);
      slot.worker.postMessage({ type: "open", id: job.id, data }, [data.buffer as ArrayBuffer]);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(new URL("./pdf-worker.mjs", import.meta.url), {
      execArgv: [], workerData: { engine: this.engine, batch: this.o.batchPages, credit: this.o.credit, wasmModule: this.compiled },
    });
    this.spawned++;
    const slot: Slot = { worker, docs: 0, pages: 0, retiring: false };
    worker.on("message", (msg: FromWorker) => {
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      if (msg.type === "pages") {
        job.batches.push(msg.pages);
        slot.pages += msg.pages.length;
      } else {
        slot.job = undefined;
        job.slot = undefined;
        worker.unref();
        slot.docs++;
        if (msg.type === "error") {
          job.error = new PdfParseError(msg.error.kind, msg.error.message);
          this.retire(slot);
        } else {
          job.total = msg.total;
          if (slot.docs >= this.o.recycleDocs || slot.pages >= this.o.recyclePages || msg.heapBytes >= this.o.recycleHeapBytes) this.retire(slot);
        }
        this.pump();
      }
      job.wake?.();
    });
    const lost = (error: Error) => {
      // A crashed worker fails its job and is replaced on the next demand.
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      if (slot.job) this.fail(slot.job, new PdfParseError("worker", error.message));
      slot.job = undefined;
      this.pump();
    };
    worker.on("error", lost);
    worker.on("exit", (code) => { if (!slot.retiring) lost(new Error(`PDF worker exited (code ${code})`)); });
    this.slots.push(slot);
    return slot;
  }

  /** End a worker; a new one starts when there is work. */
  private retire(slot: Slot): void {
    slot.retiring = true;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate();
  }

  /** The reader left before the end: drop the job, and the worker with it if it was parsing it. */
  private abandon(job: Job): void {
    const q = this.queue.indexOf(job);
    if (q >= 0) this.queue.splice(q, 1);
    const slot = job.slot;
    if (slot && slot.job === job) {
      slot.job = undefined;
      this.retire(slot);
      this.pump();
    }
  }

  private fail(job: Job, error: Error): void {
    job.error ??= error;
    job.wake?.();
  }
}

/** The lib setting (ES2023, no DOM) has no WebAssembly types; the pool only compiles a module and passes it on. */
type WasmModule = object;
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> };

/** The wasm file that ships in @hyzyla/pdfium, compiled (V8 compiles in the background; the module is shareable). */
async function compilePdfium(): Promise<WasmModule> {
  return WebAssembly.compile(await readFile(createRequire(import.meta.url).resolve("@hyzyla/pdfium/pdfium.wasm")));
}
