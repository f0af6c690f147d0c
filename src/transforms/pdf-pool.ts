// A small pool of worker threads parsing PDFs; callers await results, so output order is theirs.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

export interface PdfText { pages: string[]; total: number }
export class PdfParseError extends Error {
  constructor(readonly kind: string, message: string) { super(message); this.name = kind; }
}

interface Job { id: number; data: Uint8Array; resolve: (r: PdfText) => void; reject: (e: Error) => void }
interface Slot { worker: Worker; job?: Job }

export class PdfPool {
  private readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;

  constructor(size = Math.min(2, availableParallelism())) {
    this.size = Math.max(1, size);
  }

  parse(data: Uint8Array): Promise<PdfText> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, data, resolve, reject });
      this.pump();
    });
  }

  /** Stop the workers; pending jobs fail. Idle workers are unref'd, so forgetting this never hangs. */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.reject(new Error("PDF pool closed"));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private pump(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      // Copy, then transfer the copy: the caller's buffer stays usable and nothing is cloned twice.
      const copy = new Uint8Array(job.data);
      slot.worker.postMessage({ id: job.id, data: copy }, [copy.buffer]);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(new URL("./pdf-worker.mjs", import.meta.url), { execArgv: [] });
    const slot: Slot = { worker };
    worker.on("message", (msg: { id: number; pages?: string[]; total?: number; error?: { name: string; message: string } }) => {
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      slot.job = undefined;
      worker.unref();
      if (msg.error) job.reject(new PdfParseError(msg.error.name, msg.error.message));
      else job.resolve({ pages: msg.pages ?? [], total: msg.total ?? 0 });
      this.pump();
    });
    worker.on("error", (error) => {
      // A crashed worker fails its job and is replaced on the next demand.
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      slot.job?.reject(new PdfParseError("WorkerError", error.message));
      slot.job = undefined;
      this.pump();
    });
    this.slots.push(slot);
    return slot;
  }
}
