// The review server: node:http on loopback, one random token that every request must carry (query `token`,
// header `X-Review-Token`, or the cookie the page sets), a JSON API over the report index, and the three
// static files of the page from a fixed table — no path from the client ever reaches the filesystem.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { z } from "zod";
import type { ScoredRecord } from "../records.ts";
import type { DecisionLog } from "../sinks/review-decisions.ts";
import { checkGrounding, locateEvidence } from "../transforms/checks/grounding.ts";
import { ReviewAction, ReviewDecision, ReviewEdits, withEdits, type ReviewStates } from "../transforms/review-decisions.ts";
import { CHECK_NAMES, CHECKS, VERDICTS, type ChunkIndex, type ReportIndex } from "./report-index.ts";
import { FilterError, parseFilter, Query } from "./query.ts";

const PAGE_DIR = join(import.meta.dirname, "page");
/** The page's files: the only things served from disk, read once at start. */
const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

const MAX_BODY = 4 << 20;
const MAX_PAGE = 200;

export interface ReviewServerOptions {
  index: ReportIndex;
  /** chunks.ndjson, for the source chunk of records that do not carry their `context`. */
  chunks?: ChunkIndex;
  states: ReviewStates;
  decisions: DecisionLog;
  host?: string;
  port?: number;
  /** format's threshold, for "what format would keep" (the page may change it). */
  threshold: number;
  /** Fixed token (tests); default 32 random bytes. */
  token?: string;
}

export interface ReviewServer { url: string; token: string; port: number; host: string; server: Server; close(): Promise<void> }

const DecideBody = z.strictObject({ qaId: z.string().min(1).max(200), action: ReviewAction, edits: ReviewEdits.optional() });
const BulkBody = z.strictObject({ action: z.enum(["accept", "reject"]), filter: z.record(z.string(), z.string()).default({}) });
const CheckBody = z.strictObject({ i: z.number().int().nonnegative(), edits: ReviewEdits });

class HttpError extends Error { constructor(readonly status: number, message: string) { super(message); } }

const flagNames = (bits: number): string[] => CHECK_NAMES.filter((c) => bits & CHECKS[c]);

/** Where each turn's evidence sits in the chunk ([start, end) or null: "not found") and the grounding check. */
function evidenceOf(r: ScoredRecord, context: string) {
  const turns = r.turns && r.turns.length > 1 ? r.turns : [{ question: r.question, answer: r.answer, evidence: r.evidence }];
  return turns.map((t) => ({ ...checkGrounding(t.evidence ?? "", t.answer, context), at: context ? locateEvidence(t.evidence ?? "", context) ?? null : null }));
}

export async function startReviewServer(o: ReviewServerOptions): Promise<ReviewServer> {
  const token = o.token ?? randomBytes(32).toString("base64url");
  const tokenBytes = Buffer.from(token);
  const files = Object.fromEntries(Object.entries(STATIC).map(([k, v]) => [k, { ...v, body: readFileSync(join(PAGE_DIR, v.file)) }]));
  const query = new Query(o.index, o.states);
  const contextOf = async (r: ScoredRecord): Promise<string | undefined> => r.context ?? (await o.chunks?.text(r.chunkId));
  const host = o.host ?? "127.0.0.1";
  let cookieName = "review_token";

  const sameToken = (given: string | undefined | null): boolean => {
    if (!given) return false;
    const b = Buffer.from(given);
    return b.length === tokenBytes.length && timingSafeEqual(b, tokenBytes);
  };
  const authorized = (req: IncomingMessage, url: URL): boolean => {
    if (sameToken(url.searchParams.get("token"))) return true;
    const header = req.headers["x-review-token"];
    if (sameToken(Array.isArray(header) ? header[0] : header)) return true;
    const cookie = (req.headers.cookie ?? "").split(";").map((c) => c.trim().split("=")).find(([k]) => k === cookieName);
    return sameToken(cookie?.[1]);
  };

  const send = (res: ServerResponse, status: number, body: Buffer | string, type: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, {
      "Content-Type": type,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "X-Frame-Options": "DENY",
      // The page runs only its own script and talks only to this server (no inline script, no eval).
      "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      ...extra,
    });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, value: unknown) => send(res, status, JSON.stringify(value), "application/json; charset=utf-8");

  const body = async (req: IncomingMessage): Promise<unknown> => {
    if (!/^application\/json\b/.test(req.headers["content-type"] ?? "")) throw new HttpError(415, "send JSON (Content-Type: application/json)");
    const parts: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) { size += c.length; if (size > MAX_BODY) throw new HttpError(413, "request body too large"); parts.push(c); }
    try { return JSON.parse(Buffer.concat(parts).toString("utf8")); } catch { throw new HttpError(400, "the body is not valid JSON"); }
  };
  const parse = <T>(schema: z.ZodType<T>, value: unknown): T => {
    const r = schema.safeParse(value);
    if (!r.success) { const i = r.error.issues[0]!; throw new HttpError(400, `${i.path.join(".") || "body"}: ${i.message}`); }
    return r.data;
  };
  const pairIndex = (raw: string | null): number => {
    const i = Number(raw);
    if (!Number.isInteger(i) || i < 0 || i >= o.index.count) throw new HttpError(404, "no such pair");
    return i;
  };
  const stateJson = (qaId: string) => {
    const s = o.states.get(qaId);
    return { status: s?.status ?? null, edits: s?.edits ?? null, actions: s?.actions.length ?? 0 };
  };
  const filterOf = (p: URLSearchParams) => {
    try { return parseFilter(p, o.index.docs.length); } catch (e) { if (e instanceof FilterError) throw new HttpError(400, e.message); throw e; }
  };

  const api = async (req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> => {
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case "GET /api/summary": {
        const t = url.searchParams.get("threshold");
        const threshold = t === null || t === "" ? o.threshold : Number(t);
        if (!(threshold >= 0 && threshold <= 10)) throw new HttpError(400, "threshold must be a score from 0 to 10");
        return json(res, 200, { ...query.summary(threshold), defaultThreshold: o.threshold });
      }
      case "GET /api/pairs": {
        const f = filterOf(url.searchParams);
        const offset = Math.max(0, Math.floor(Number(url.searchParams.get("offset") ?? 0)) || 0);
        const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(Number(url.searchParams.get("limit") ?? 50)) || 50));
        const { matches, counts } = await query.select(f);
        const items = [];
        for (const i of matches.subarray(offset, offset + limit)) {
          const r = await o.index.read(i);
          const s = o.states.get(r.qaId);
          const shown = s?.edits ? withEdits(r, s.edits) : r;
          items.push({
            i, qaId: r.qaId, question: shown.question.slice(0, 300), verdict: VERDICTS[o.index.verdicts[i]!], overall: o.index.overall[i],
            checks: flagNames(o.index.flags[i]!), source: r.source, turns: o.index.turns[i], status: s?.status ?? null, edited: !!s?.edits,
          });
        }
        return json(res, 200, { total: matches.length, offset, limit, items, counts });
      }
      case "GET /api/pair": {
        const i = pairIndex(url.searchParams.get("i"));
        const r = await o.index.read(i);
        const s = o.states.get(r.qaId);
        const shown = s?.edits ? withEdits(r, s.edits) : r;
        const context = await contextOf(r);
        return json(res, 200, { i, record: r, shown, state: stateJson(r.qaId), checks: flagNames(o.index.flags[i]!), evidence: evidenceOf(shown, context ?? ""), context: context ?? null });
      }
      case "POST /api/check": {
        // The evidence of an edit re-checked as validate checks it (checks/grounding.ts), before it is saved.
        const b = parse(CheckBody, await body(req));
        if (b.i >= o.index.count) throw new HttpError(404, "no such pair");
        const r = await o.index.read(b.i);
        return json(res, 200, { evidence: evidenceOf(withEdits(r, b.edits), (await contextOf(r)) ?? "") });
      }
      case "POST /api/decide": {
        const b = parse(DecideBody, await body(req));
        if (!o.index.byId.has(b.qaId)) throw new HttpError(404, "no pair with that qaId in this report");
        const d = parse(ReviewDecision, { ...b, at: new Date().toISOString() });
        await o.decisions.append([d]); // on disk before the reply
        o.states.add(d);
        if (d.action === "edit" || d.action === "undo") query.forgetSearches();
        return json(res, 200, { qaId: b.qaId, state: stateJson(b.qaId) });
      }
      case "POST /api/bulk": {
        const b = parse(BulkBody, await body(req));
        const { matches } = await query.select(filterOf(new URLSearchParams(b.filter)));
        const at = new Date().toISOString();
        const status = b.action === "accept" ? "accepted" : "rejected";
        const ds: ReviewDecision[] = [];
        for (const i of matches) { const qaId = o.index.qaIds[i]!; if (o.states.get(qaId)?.status !== status) ds.push({ qaId, action: b.action, at }); }
        await o.decisions.append(ds); // one write, one fsync
        for (const d of ds) o.states.add(d);
        return json(res, 200, { action: b.action, matched: matches.length, changed: ds.length });
      }
      default:
        throw new HttpError(404, "no such API");
    }
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://review.invalid");
    if (!authorized(req, url)) return json(res, 401, { error: "the access token is missing or wrong: open the URL `pipeline review` printed" });
    const handle = async () => {
      if (url.pathname.startsWith("/api/")) return api(req, url, res);
      // HEAD as GET without the body (node's http leaves it out): link checkers and `curl -I` ask so.
      const file = req.method === "GET" || req.method === "HEAD" ? files[url.pathname] : undefined;
      if (!file) throw new HttpError(404, "not found");
      // The page's own requests then carry the token as a cookie (HttpOnly, this origin only, named per port).
      return send(res, 200, file.body, file.type, url.pathname === "/" ? { "Set-Cookie": `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/` } : {});
    };
    handle().catch((e: unknown) => {
      if (res.headersSent) { res.destroy(); return; }
      if (e instanceof HttpError) json(res, e.status, { error: e.message });
      else json(res, 500, { error: (e as Error).message });
    });
  });
  await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(o.port ?? 0, host, () => resolve()); });
  const port = (server.address() as AddressInfo).port;
  cookieName = `review_token_${port}`;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`, token, port, host, server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
