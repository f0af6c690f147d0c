// Progress on stderr: a bar with rate and ETA on a terminal, a line every few seconds otherwise,
// nothing with --quiet. Data never goes here, so stdout stays clean.
import cliProgress from "cli-progress";
import { log, logLevel, setBeforeLogLine } from "../log.ts";

export interface StepProgress { inputs: number; records: number; bytes: number }

/** What runStep (or any loop) reports to; `done` is called once, ok=false when the run failed. */
export interface ProgressSink {
  update(p: StepProgress): void;
  done(p: StepProgress, ok: boolean): void;
  /** Set or change the expected number of inputs (enables the ETA). */
  setTotal(total: number): void;
}

export interface ProgressOptions {
  label: string;
  /** Expected inputs, when known up front. */
  total?: number;
  /** What an input is called in messages ("files", "docs", "chunks"). */
  unit?: string;
  /** Defaults to the log level: --quiet shows nothing. */
  quiet?: boolean;
  /** Force a mode (tests); default: bar when stderr is a TTY. */
  tty?: boolean;
  /** Seconds between lines when not on a TTY. */
  intervalSec?: number;
  stream?: NodeJS.WriteStream;
}

export function createProgress(opts: ProgressOptions): ProgressSink {
  if (opts.quiet ?? logLevel === "quiet") return { update() {}, done() {}, setTotal() {} };
  const stream = opts.stream ?? process.stderr;
  return (opts.tty ?? stream.isTTY) ? barProgress(opts, stream) : lineProgress(opts, stream);
}

function barProgress(opts: ProgressOptions, stream: NodeJS.WriteStream): ProgressSink {
  const unit = opts.unit ?? "inputs";
  let total = opts.total ?? 0;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${opts.label} {bar} {percentage}% | {value}/{total} ${unit} | {records} out | {rate}/s | ETA {eta_formatted}`,
      etaBuffer: 50,
      fps: 5,
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  const payload = (p: StepProgress) => ({ records: p.records, rate: rate(p.inputs, started) });
  return {
    setTotal(t) { total = t; if (running) bar.setTotal(t); },
    update(p) {
      if (!running) {
        bar.start(Math.max(total, p.inputs), 0, payload(p));
        running = true;
        // Warnings printed mid-run would otherwise land in the middle of the bar.
        setBeforeLogLine(() => { stream.cursorTo(0); stream.clearLine(0); });
      }
      if (p.inputs > total) bar.setTotal(p.inputs);
      bar.update(p.inputs, payload(p));
    },
    done(p, ok) {
      if (running) { bar.update(p.inputs, payload(p)); bar.stop(); setBeforeLogLine(undefined); }
    },
  };
}

function lineProgress(opts: ProgressOptions, _stream: NodeJS.WriteStream): ProgressSink {
  const unit = opts.unit ?? "inputs";
  let total = opts.total;
  const started = Date.now();
  const every = (opts.intervalSec ?? 10) * 1000;
  let last = started;
  return {
    setTotal(t) { total = t; },
    update(p) {
      const now = Date.now();
      if (now - last < every) return;
      last = now;
      const r = (p.inputs * 1000) / Math.max(1, now - started);
      const eta = total && r > 0 ? ` ETA ${formatSeconds((total - p.inputs) / r)}` : "";
      log.info(`${opts.label}: ${p.inputs}${total ? `/${total}` : ""} ${unit}, ${p.records} out, ${r.toFixed(1)} ${unit}/s${eta}`);
    },
    done() {},
  };
}

function rate(n: number, started: number): string {
  return ((n * 1000) / Math.max(1, Date.now() - started)).toFixed(1);
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
