// Fail-fast checks a backend runs before any work: a key is set, the host answers.
import { PipelineError } from "../errors.ts";

/** Any HTTP answer means the host is there; only a connection failure or silence is "unreachable". */
export async function probeReachable(url: string, what: string, fix: string, opts: { fetch?: typeof fetch; timeoutMs?: number } = {}): Promise<void> {
  try {
    const res = await (opts.fetch ?? globalThis.fetch)(url, { method: "GET", signal: AbortSignal.timeout(opts.timeoutMs ?? 3000) });
    await res.body?.cancel().catch(() => {});
  } catch (e) {
    const reason = (e as Error).name === "TimeoutError" ? "no answer" : ((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message);
    throw new PipelineError("E_CONFIG", `${what} is not reachable at ${url} (${reason}); ${fix}`);
  }
}

export function requireKey(key: string | undefined, provider: string, keyVar: string): void {
  if (!key) {
    throw new PipelineError("E_CONFIG", `${provider} needs an API key: set ${keyVar} in the environment or in config.env (or choose another --provider)`, { field: keyVar.split(" ")[0] });
  }
}
