// config.env + environment + flags → one typed settings object.
// Precedence: flag > environment > config.env > default. Parsed once; a bad value names its key.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import { z } from "zod";
import { PipelineError } from "./errors.ts";
import { log } from "./log.ts";
import { QA_STYLES, type QaStyle } from "./records.ts";

const num = z.coerce.number().finite();
const int = z.coerce.number().int();
const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) => ["true", "1", "yes"].includes(v))]);
const str = z.string().min(1);

/** A style and its share of the chunks. */
export interface StyleShare { style: QaStyle; weight: number }

/**
 * `--style`: one style ("multi-turn") or a mix ("qa=0.6,multi-turn=0.3,reasoning=0.1"), as shares that sum to 1.
 * Refused by name when a style is unknown, a share is not a positive number, or a style is named twice.
 */
const styleMix = z.string().transform((raw, ctx): StyleShare[] => {
  const out: StyleShare[] = [];
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const [name, share] = part.split("=").map((x) => x.trim());
    const weight = share === undefined ? 1 : Number(share);
    if (!(QA_STYLES as readonly string[]).includes(name!) || !(weight > 0) || out.some((o) => o.style === name)) {
      ctx.addIssue({ code: "custom", message: `expected ${QA_STYLES.join(", ")} or a mix like qa=0.6,multi-turn=0.3,reasoning=0.1 (got "${part}")` });
      return z.NEVER;
    }
    out.push({ style: name as QaStyle, weight });
  }
  if (!out.length) { ctx.addIssue({ code: "custom", message: "expected at least one style" }); return z.NEVER; }
  const total = out.reduce((a, o) => a + o.weight, 0);
  return out.map((o) => ({ style: o.style, weight: o.weight / total }));
});

/** `--clean`: the text cleanups ingest makes (transforms/clean-text.ts), as a list, or "none". */
const CLEANUP_NAMES = ["ligatures", "hyphens", "headers"] as const;
type CleanupName = (typeof CLEANUP_NAMES)[number];
const cleanups = z.string().transform((raw, ctx): ReadonlySet<CleanupName> => {
  const parts = raw.split(",").map((p) => p.trim().toLowerCase()).filter(Boolean);
  if (parts.length === 1 && parts[0] === "none") return new Set();
  const bad = parts.filter((p) => !(CLEANUP_NAMES as readonly string[]).includes(p));
  if (bad.length || !parts.length) { ctx.addIssue({ code: "custom", message: `expected "none" or a list of ${CLEANUP_NAMES.join(", ")} (got "${raw}")` }); return z.NEVER; }
  return new Set(parts as CleanupName[]);
});

/** Every setting: its environment/config.env key, its schema and its default. */
export const SETTINGS = {
  inputDir: { key: "PIPELINE_INPUT_DIR", schema: str, default: "data/documents" },
  chunksDir: { key: "PIPELINE_CHUNKS_DIR", schema: str, default: "data/document_chunks" },
  qaDir: { key: "PIPELINE_QA_DIR", schema: str, default: "data/document_training_data" },
  chunkSize: { key: "PIPELINE_CHUNK_SIZE", schema: int.min(1), default: 1500 },
  chunkOverlap: { key: "PIPELINE_CHUNK_OVERLAP", schema: int.min(0), default: 200 },
  followSymlinks: { key: "PIPELINE_FOLLOW_SYMLINKS", schema: bool, default: false },
  clean: { key: "PIPELINE_CLEAN", schema: cleanups, default: new Set(CLEANUP_NAMES) as ReadonlySet<CleanupName> },
  // PDF text extractor (transforms/pdf-pool.ts): PDFium (wasm) by default — faster than pdf.js at text as faithful
  // (bench/pdf-engines.ts, test/transforms/pdf-engines.test.ts); pdf-parse (pdf.js) stays available.
  pdfEngine: { key: "PIPELINE_PDF_ENGINE", schema: z.enum(["pdfium", "pdf-parse"]), default: "pdfium" as const },
  commitIntervalMs: { key: "PIPELINE_COMMIT_INTERVAL_MS", schema: int.min(0), default: 1000 },
  provider: { key: "PIPELINE_LLM_PROVIDER", schema: str.optional(), default: undefined },
  model: { key: "PIPELINE_LLM_MODEL", schema: str.optional(), default: undefined },
  baseUrl: { key: "PIPELINE_LLM_BASE_URL", schema: str.optional(), default: undefined },
  questionsPerChunk: { key: "PIPELINE_QUESTIONS_PER_CHUNK", schema: int.min(1).max(50), default: 3 },
  qaStyle: { key: "PIPELINE_QA_STYLE", schema: styleMix, default: [{ style: "qa", weight: 1 }] as StyleShare[] },
  reasoningFormat: { key: "PIPELINE_REASONING_FORMAT", schema: z.enum(["think", "plain"]), default: "think" as const },
  temperature: { key: "PIPELINE_TEMPERATURE", schema: num.min(0).max(2), default: 0.7 },
  validationThreshold: { key: "PIPELINE_VALIDATION_THRESHOLD", schema: num.min(0).max(10), default: 8.0 },
  filterThreshold: { key: "PIPELINE_FILTER_THRESHOLD", schema: num.min(0).max(10), default: 7.0 },
  formatTemplate: { key: "PIPELINE_FORMAT_TEMPLATE", schema: z.enum(["alpaca", "chatml", "sharegpt", "openai"]), default: "alpaca" as const },
  concurrency: { key: "PIPELINE_CONCURRENCY", schema: int.min(1).max(1024), default: 4 },
  rpm: { key: "PIPELINE_RPM", schema: num.positive().optional(), default: undefined },
  tpm: { key: "PIPELINE_TPM", schema: num.positive().optional(), default: undefined },
  timeoutSec: { key: "PIPELINE_TIMEOUT", schema: num.positive(), default: 120 },
  maxRetries: { key: "PIPELINE_MAX_RETRIES", schema: int.min(0).max(100), default: 5 },
  maxCost: { key: "PIPELINE_MAX_COST", schema: num.nonnegative().optional(), default: undefined },
  // --batch: generate-qa and validate through the vendor's batch service (openai, claude, gemini; providers/batch/).
  batch: { key: "PIPELINE_BATCH", schema: bool, default: false },
  batchPollSec: { key: "PIPELINE_BATCH_POLL_SEC", schema: num.positive(), default: 30 },
  /** A follow-up batch round (repairs, retried lines) smaller than this is sent synchronously instead. */
  batchSyncBelow: { key: "PIPELINE_BATCH_SYNC_BELOW", schema: int.min(0), default: 20 },
  cacheDir: { key: "PIPELINE_CACHE_DIR", schema: str.optional(), default: undefined },
  cache: { key: "PIPELINE_CACHE", schema: bool, default: true },
  prices: { key: "PIPELINE_PRICES", schema: str.optional(), default: undefined },
  llmThreads: { key: "PIPELINE_LLM_THREADS", schema: int.min(1).max(256).optional(), default: undefined },
  skipBadLines: { key: "PIPELINE_SKIP_BAD_LINES", schema: bool, default: false },
  finetuneModelName: { key: "FINETUNE_MODEL_NAME", schema: str, default: "tiny" },
  finetuneModelType: { key: "FINETUNE_MODEL_TYPE", schema: str.optional(), default: undefined },
  finetuneOutputDir: { key: "FINETUNE_OUTPUT_DIR", schema: str, default: "fine_tuned_models" },
  finetuneEpochs: { key: "FINETUNE_EPOCHS", schema: num.positive().optional(), default: undefined },
  finetuneLearningRate: { key: "FINETUNE_LEARNING_RATE", schema: num.positive().optional(), default: undefined },
  finetuneLoraRank: { key: "FINETUNE_LORA_RANK", schema: int.min(1).optional(), default: undefined },
  finetuneBatchSize: { key: "FINETUNE_BATCH_SIZE", schema: int.min(1).optional(), default: undefined },
  finetuneSeqLen: { key: "FINETUNE_SEQ_LEN", schema: int.min(8).optional(), default: undefined },
  finetuneBackend: { key: "FINETUNE_BACKEND", schema: str.optional(), default: undefined },
  exportModelPath: { key: "EXPORT_MODEL_PATH", schema: str.optional(), default: undefined },
  exportModelName: { key: "EXPORT_MODEL_NAME", schema: str.optional(), default: undefined },
  exportOutputDir: { key: "EXPORT_OUTPUT_DIR", schema: str, default: "merged_models" },
  exportQuant: { key: "EXPORT_QUANT", schema: z.enum(["f16", "q8_0", "f32", "q4_k_m", "q5_k_m", "q6_k"]), default: "q8_0" as const },
} as const;

type Table = typeof SETTINGS;
export type SettingName = keyof Table;
export type Settings = { [K in SettingName]: z.output<Table[K]["schema"]> } & {
  /** Environment as the process sees it, with config.env filling the gaps (API keys live here). */
  env: Record<string, string | undefined>;
  /** Where each setting came from, for --verbose and reports. */
  origin: Record<SettingName, "flag" | "env" | "config.env" | "default">;
  configFile?: string;
};

/**
 * Command-line flags that are not settings (no environment key): each one's schema and what it expects, parsed
 * here like the settings so a bad value is refused by the flag's name instead of becoming NaN further on.
 */
export const FLAGS = {
  "valid-split": { schema: num.min(0).lt(1), expects: "a share of documents from 0 to below 1, like 0.1" },
  "format-threshold": { schema: num.min(0).max(10), expects: "a score from 0 to 10" },
  alpha: { schema: num.min(0), expects: "a number ≥ 0" },
  dropout: { schema: num.min(0).lt(1), expects: "a number from 0 to below 1" },
  "grad-accum": { schema: int.min(1), expects: "a whole number ≥ 1" },
  threads: { schema: int.min(0), expects: "a whole number ≥ 0 (0: all cores)" },
  "checkpoint-every": { schema: int.min(0), expects: "a whole number ≥ 0" },
  "eval-every": { schema: int.min(0), expects: "a whole number ≥ 0" },
  seed: { schema: int.min(0), expects: "a whole number ≥ 0" },
  "num-ctx": { schema: int.min(1), expects: "a positive whole number" },
  "max-tokens": { schema: int.min(1), expects: "a positive whole number" },
  port: { schema: int.min(0).max(65535), expects: "a port number from 0 to 65535 (0: any free port)" },
} as const;
export type FlagName = keyof typeof FLAGS;

/** A flag's value parsed by its schema; undefined when the flag was not given. */
export function parseFlag<K extends FlagName>(name: K, raw: string | undefined): z.output<(typeof FLAGS)[K]["schema"]> | undefined {
  if (raw === undefined) return undefined;
  const spec = FLAGS[name];
  const parsed = (spec.schema as z.ZodType).safeParse(raw.trim() === "" ? Number.NaN : raw);
  if (!parsed.success) throw new PipelineError("E_USAGE", `--${name} must be ${spec.expects} (got ${JSON.stringify(raw)})`, { field: `--${name}` });
  return parsed.data as z.output<(typeof FLAGS)[K]["schema"]>;
}

/** A setting's value as given by a command-line flag: a bad value is then reported by the flag's name. */
export class FlagValue {
  constructor(readonly flag: string, readonly value: unknown) {}
}
export const flag = (name: string, value: unknown): FlagValue | undefined => (value === undefined ? undefined : new FlagValue(name, value));

export interface LoadSettingsOptions {
  flags?: Partial<Record<SettingName, unknown>>;
  /** --config FILE; default: ./config.env when present. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Switches read straight from the environment, not settings: PIPELINE_DEBUG (stack traces with errors, README § Exit
 * codes) and PIPELINE_IGNORE_STDIN (streams/io.ts). Known, so setting them is not warned about as a typo.
 */
export const ENV_SWITCHES = ["PIPELINE_DEBUG", "PIPELINE_IGNORE_STDIN"] as const;
const KNOWN_KEYS = new Set<string>([...Object.values(SETTINGS).map((s) => s.key), ...ENV_SWITCHES]);

export function loadSettings(opts: LoadSettingsOptions = {}): Settings {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit = opts.configPath !== undefined;
  const configFile = resolve(cwd, opts.configPath ?? "config.env");
  let fileValues: Record<string, string> = {};
  if (existsSync(configFile)) {
    const text = readFileSync(configFile, "utf8");
    checkConfigLines(text, configFile);
    fileValues = parseDotenv(text);
  } else if (explicit) {
    throw new PipelineError("E_CONFIG", `config file not found; check the --config path (copy config.env.example to start one)`, { file: configFile });
  }

  for (const key of [...Object.keys(fileValues), ...Object.keys(env)]) {
    if (/^(PIPELINE|FINETUNE|EXPORT)_/.test(key) && !KNOWN_KEYS.has(key)) {
      warnOnce(`unknown setting ${key}${key in fileValues ? ` in ${configFile}` : " in the environment"} is ignored (a typo? see config.env.example)`);
    }
  }

  const out: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as Array<[SettingName, Table[SettingName]]>) {
    const given = opts.flags?.[name];
    const flagName = given instanceof FlagValue ? given.flag : undefined;
    const flagValue = given instanceof FlagValue ? given.value : given;
    let raw: unknown;
    let from: "flag" | "env" | "config.env" | "default";
    if (flagValue !== undefined && flagValue !== "") { raw = flagValue; from = "flag"; }
    else if (env[spec.key] !== undefined && env[spec.key] !== "") { raw = env[spec.key]; from = "env"; }
    else if (fileValues[spec.key] !== undefined && fileValues[spec.key] !== "") { raw = fileValues[spec.key]; from = "config.env"; }
    else { out[name] = spec.default; origin[name] = "default"; continue; }
    const parsed = (spec.schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const where = from === "flag" ? (flagName ? `${flagName} (${spec.key})` : `flag for ${spec.key}`) : from === "env" ? `environment variable ${spec.key}` : `${spec.key} in ${configFile}`;
      throw new PipelineError("E_CONFIG", `bad value ${JSON.stringify(raw)} for ${where}: ${parsed.error.issues[0]?.message ?? "invalid"}`, { field: spec.key });
    }
    out[name] = parsed.data;
    origin[name] = from;
  }

  const mergedEnv: Record<string, string | undefined> = { ...fileValues, ...env };
  return { ...(out as object), env: mergedEnv, origin, configFile: existsSync(configFile) ? configFile : undefined } as Settings;
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  log.warn(message);
}

/** dotenv skips lines it cannot parse; a typo there would silently lose a setting, so such a line is refused. */
function checkConfigLines(text: string, file: string): void {
  let openQuote: string | undefined; // a quoted value that continues on the next lines
  text.split(/\r?\n/).forEach((line, i) => {
    if (openQuote) { if (line.includes(openQuote)) openQuote = undefined; return; }
    const t = line.trim();
    if (t === "" || t.startsWith("#")) return;
    const m = /^(?:export\s+)?[A-Za-z_][\w.-]*(?:\s*=|:\s)\s*(.*)$/.exec(t);
    if (!m) throw new PipelineError("E_CONFIG", `malformed line: expected KEY=value or a # comment, got ${JSON.stringify(t.slice(0, 60))}`, { file, line: i + 1 });
    const value = m[1]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === "`") && !value.slice(1).includes(quote)) openQuote = quote;
  });
}
