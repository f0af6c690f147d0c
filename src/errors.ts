// Errors with a stable code, a message that says what was wrong and what to do, and where it happened.
export type ErrorCode =
  | "E_USAGE" | "E_CONFIG" | "E_INPUT" | "E_BAD_LINE" | "E_BAD_RECORD" | "E_RESUME"
  | "E_PROVIDER" | "E_AUTH" | "E_RATE_LIMIT" | "E_TIMEOUT" | "E_BUDGET"
  | "E_GGUF" | "E_MODEL" | "E_TRAIN" | "E_EXPORT" | "E_STAGE"
  | "E_OUTPUT" | "E_LOCKED" | "E_FAILURES" | "E_INTERRUPTED";

export interface ErrorWhere { stage?: string; file?: string; line?: number; field?: string; recordId?: string }

export class PipelineError extends Error {
  readonly code: ErrorCode;
  readonly where: ErrorWhere;
  /** 2 = bad usage or configuration, 130 = interrupted (Ctrl-C), 1 = anything else (STYLE.md § CLI). */
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, where: ErrorWhere = {}, options?: { cause?: unknown }) {
    super(withWhere(message, where), options);
    this.name = "PipelineError";
    this.code = code;
    this.where = where;
    this.exitCode = code === "E_USAGE" || code === "E_CONFIG" ? 2 : code === "E_INTERRUPTED" ? 130 : 1;
  }
}

function withWhere(message: string, w: ErrorWhere): string {
  const parts: string[] = [];
  if (w.stage) parts.push(`stage ${w.stage}`);
  if (w.file) parts.push(w.line !== undefined ? `${w.file}:${w.line}` : w.file);
  else if (w.line !== undefined) parts.push(`line ${w.line}`);
  if (w.field) parts.push(`field "${w.field}"`);
  if (w.recordId) parts.push(`record ${w.recordId}`);
  return parts.length ? `${parts.join(", ")}: ${message}` : message;
}

/** Remove anything that looks like a secret from text before it is shown or stored. */
export function redact(text: string, secrets: Array<string | undefined> = secretsFromEnv()): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 6) out = out.split(s).join("[REDACTED]");
  return out.replace(/\b(sk-(?:ant-)?[A-Za-z0-9_-]{8})[A-Za-z0-9_-]+/g, "$1…[REDACTED]");
}

const SECRET_KEYS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "HF_TOKEN"];
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_KEYS.map((k) => env[k]).filter((v): v is string => !!v);
}
