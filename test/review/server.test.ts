// The review server over real files on a loopback port: the token on every request, loopback binding, no
// client path reaching the disk, escaping-safe responses, paging and filters over 100,000 pairs, decisions
// that survive a restart and that format applies.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { REVIEW_DECISIONS_FILE } from "../../src/layout.ts";
import { runFormat } from "../../src/steps/format.ts";
import { startReview } from "../../src/steps/review.ts";
import { scoredPair, writeReport, writeReportFast } from "./fixtures.ts";

const dir = () => mkdtempSync(join(tmpdir(), "review-server-"));

async function call(base: string, path: string, init: RequestInit & { token?: string | null } = {}) {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (init.token) headers["X-Review-Token"] = init.token;
  if (init.body) headers["Content-Type"] = "application/json";
  const res = await fetch(base + path, { ...init, headers });
  const text = await res.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body, headers: res.headers };
}

test("every request needs the token: 401 without or with a wrong one; query, header or the page's cookie pass", async () => {
  const s = await startReview({ report: await writeReport(dir(), 30), threshold: 7 });
  try {
    const base = `http://127.0.0.1:${s.port}`;
    for (const path of ["/", "/app.js", "/style.css", "/api/summary", "/api/pairs", "/api/pair?i=0", "/nothing"]) {
      assert.equal((await call(base, path)).status, 401, path);
      assert.equal((await call(base, path, { token: "x".repeat(s.token.length) })).status, 401, `${path} wrong token`);
    }
    assert.equal((await call(base, "/api/decide", { method: "POST", body: JSON.stringify({ qaId: scoredPair(0).qaId, action: "reject" }) })).status, 401);
    assert.equal(readFileSync(s.decisionsPath, "utf8"), "", "an unauthorized decision is not written");
    const page = await call(base, `/?token=${s.token}`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy")!, /script-src 'self'/);
    const cookie = page.headers.get("set-cookie")!.split(";")[0]!;
    assert.match(cookie, new RegExp(`^review_token_${s.port}=`));
    assert.equal((await call(base, "/app.js", { headers: { Cookie: cookie } })).status, 200);
    const head = await call(base, `/?token=${s.token}`, { method: "HEAD" });
    assert.deepEqual([head.status, head.body, head.headers.get("content-type")], [200, "", page.headers.get("content-type")], "HEAD: GET's status and type, no body");
    assert.equal((await call(base, "/", { method: "HEAD" })).status, 401);
    assert.equal((await call(base, "/api/summary", { token: s.token })).status, 200);
    assert.ok(s.url.startsWith(`http://127.0.0.1:${s.port}/?token=`) && s.url.endsWith(s.token));
    assert.ok(s.token.length >= 40, "32 random bytes");
  } finally { await s.stop(); }
});

test("binds loopback by default: the address is 127.0.0.1 and another interface's address does not answer", async () => {
  const s = await startReview({ report: await writeReport(dir(), 3), threshold: 7 });
  try {
    assert.equal((s.server.address() as { address: string }).address, "127.0.0.1");
    const other = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal);
    if (other) await assert.rejects(fetch(`http://${other.address}:${s.port}/?token=${s.token}`), "refused on a non-loopback address");
  } finally { await s.stop(); }
});

test("--host other than loopback listens there and warns", async () => {
  const write = process.stderr.write;
  let err = "";
  process.stderr.write = ((chunk: string | Uint8Array) => { err += String(chunk); return true; }) as typeof process.stderr.write;
  let s;
  try { s = await startReview({ report: await writeReport(dir(), 3), threshold: 7, host: "0.0.0.0" }); } finally { process.stderr.write = write; }
  try {
    assert.equal((s.server.address() as { address: string }).address, "0.0.0.0");
    assert.match(err, /warn: review: listening on 0\.0\.0\.0, not loopback/);
  } finally { await s.stop(); }
});

test("no path from the client reaches the disk; bad input is refused with 4xx and nothing is written", async () => {
  const s = await startReview({ report: await writeReport(dir(), 30), threshold: 7 });
  try {
    const base = `http://127.0.0.1:${s.port}`;
    const o = { token: s.token };
    for (const path of ["/../validation_report.json", "/%2e%2e/%2e%2e/etc/passwd", "/validation_report.json", "/page/app.js", "/index.html", "/api/../app.js/..%2f..%2fpackage.json"]) {
      const r = await call(base, path, o);
      assert.ok(r.status === 404, `${path}: ${r.status}`);
    }
    assert.equal((await call(base, "/api/pair?i=-1", o)).status, 404);
    assert.equal((await call(base, "/api/pair?i=30", o)).status, 404);
    assert.equal((await call(base, "/api/pairs?verdict=MAYBE", o)).status, 400);
    const post = (body: unknown) => call(base, "/api/decide", { ...o, method: "POST", body: JSON.stringify(body) });
    assert.equal((await post({ qaId: "qa_nope", action: "accept" })).status, 404);
    assert.equal((await post({ qaId: scoredPair(0).qaId, action: "delete" })).status, 400);
    assert.equal((await post({ qaId: scoredPair(0).qaId, action: "accept", file: "/tmp/x" })).status, 400);
    assert.equal((await post({ qaId: scoredPair(0).qaId, action: "edit" })).status, 400, "edit without edits");
    assert.equal((await call(base, "/api/decide", { ...o, method: "POST", body: "{not json" })).status, 400);
    assert.equal(readFileSync(s.decisionsPath, "utf8"), "");
  } finally { await s.stop(); }
});

test("responses keep a <script> pair as data: JSON with nosniff, and the page's code never parses HTML", async () => {
  const s = await startReview({ report: await writeReport(dir(), 30), threshold: 7 });
  try {
    const base = `http://127.0.0.1:${s.port}`;
    const r = await call(base, "/api/pairs?q=%3Cscript%3E", { token: s.token });
    assert.equal(r.body.total, 1);
    assert.match(r.body.items[0].question, /^<script>/);
    assert.match(r.headers.get("content-type")!, /^application\/json/);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    const js = readFileSync(new URL("../../src/review/page/app.js", import.meta.url), "utf8");
    assert.doesNotMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  } finally { await s.stop(); }
});

test("100,000 pairs: pages, filters and counts from the streamed index, NEEDS_REVIEW first, limit capped", async () => {
  const report = writeReportFast(dir(), 100_000);
  const s = await startReview({ report, threshold: 7 });
  try {
    const base = `http://127.0.0.1:${s.port}`;
    const o = { token: s.token };
    const first = await call(base, "/api/pairs?offset=0&limit=50", o);
    assert.equal(first.body.total, 100_000);
    assert.equal(first.body.items.length, 50);
    assert.ok(first.body.items.every((i: { verdict: string }) => i.verdict === "NEEDS_REVIEW"));
    assert.deepEqual(first.body.counts.verdict, { NEEDS_REVIEW: 33_334, PASS: 33_333, FAIL: 33_333 });
    assert.deepEqual(first.body.counts.doc, [25_000, 25_000, 25_000, 25_000]);
    const last = await call(base, "/api/pairs?offset=99990&limit=50", o);
    assert.equal(last.body.items.length, 10);
    assert.equal(last.body.items.at(-1).qaId, scoredPair(99_998).qaId, "the last non-NEEDS_REVIEW pair in file order (99,999 is k%3=0: NEEDS_REVIEW)");
    assert.equal((await call(base, "/api/pairs?limit=100000", o)).body.items.length, 200);
    const fails = await call(base, "/api/pairs?verdict=FAIL&check=ungrounded&doc=1&limit=5", o);
    const expected = Array.from({ length: 100_000 }, (_, k) => k).filter((k) => k % 3 === 2 && k % 13 === 0 && k % 4 === 1);
    assert.equal(fails.body.total, expected.length);
    assert.deepEqual(fails.body.items.map((i: { qaId: string }) => i.qaId), expected.slice(0, 5).map((k) => scoredPair(k).qaId));
    assert.equal(fails.body.counts.verdict.PASS, expected.length === 0 ? 0 : fails.body.counts.verdict.PASS, "counts answer 'what if'");
    const scored = await call(base, "/api/pairs?min=8&max=10&limit=1", o);
    assert.equal(scored.body.total, 33_333);
    const text = await call(base, "/api/pairs?q=step%2099999&limit=5", o);
    assert.deepEqual(text.body.items.map((i: { qaId: string }) => i.qaId), [scoredPair(99_999).qaId]);
    const one = await call(base, `/api/pair?i=${first.body.items[7].i}`, o);
    assert.equal(one.body.record.qaId, first.body.items[7].qaId);
    const summary = await call(base, "/api/summary", o);
    assert.deepEqual(summary.body.verdicts, { NEEDS_REVIEW: 33_334, PASS: 33_333, FAIL: 33_333 });
    assert.equal(summary.body.histogram.reduce((a: number, b: number) => a + b, 0), 100_000);
  } finally { await s.stop(); }
});

test("decisions: on disk before the reply, the same state after a restart, bulk of a filter, and format applies them", async () => {
  const d = dir();
  const report = await writeReport(d, 30);
  let s = await startReview({ report, threshold: 7 });
  const base = () => `http://127.0.0.1:${s.port}`;
  const post = (path: string, body: unknown) => call(base(), path, { token: s.token, method: "POST", body: JSON.stringify(body) });
  const low = scoredPair(2), good = scoredPair(1), edited = scoredPair(4), conv = scoredPair(7);
  try {
    assert.equal((await post("/api/decide", { qaId: low.qaId, action: "accept" })).body.state.status, "accepted");
    assert.equal(readFileSync(join(d, REVIEW_DECISIONS_FILE), "utf8").trim().split("\n").length, 1, "written before the reply");
    await post("/api/decide", { qaId: good.qaId, action: "reject" });
    const check = await post("/api/check", { i: 4, edits: { answer: "It never drops one.", evidence: "never drops one" } });
    assert.equal(check.body.evidence[0].grounded, true);
    assert.ok(check.body.evidence[0].at, "the new quote is located in the chunk");
    const bad = await post("/api/check", { i: 4, edits: { evidence: "words that are nowhere in it" } });
    assert.deepEqual([bad.body.evidence[0].grounded, bad.body.evidence[0].at], [false, null]);
    await post("/api/decide", { qaId: edited.qaId, action: "edit", edits: { answer: "It never drops a pair.", evidence: "never drops one" } });
    await post("/api/decide", { qaId: conv.qaId, action: "edit", edits: { turns: [{ question: "Q1?", answer: "A1.", evidence: "" }, { question: "Q2?", answer: "A2.", evidence: "" }] } });
    await post("/api/decide", { qaId: conv.qaId, action: "accept" });
    await post("/api/decide", { qaId: conv.qaId, action: "reject" });
    await post("/api/decide", { qaId: conv.qaId, action: "undo" });
    const bulk = await post("/api/bulk", { action: "reject", filter: { check: "duplicate" } });
    assert.equal(bulk.body.matched, 1); // pair 17
  } finally { await s.stop(); }
  s = await startReview({ report, threshold: 7 });
  try {
    const pair = (i: number) => call(base(), `/api/pair?i=${i}`, { token: s.token });
    assert.equal((await pair(2)).body.state.status, "accepted");
    assert.equal((await pair(1)).body.state.status, "rejected");
    assert.equal((await pair(4)).body.shown.answer, "It never drops a pair.");
    const c = (await pair(7)).body;
    assert.deepEqual([c.state.status, c.shown.turns[1].question], ["accepted", "Q2?"]);
    const summary = (await call(base(), "/api/summary", { token: s.token })).body;
    assert.deepEqual(summary.decisions, { accepted: 2, rejected: 2, edited: 2 });
    const rejected = await call(base(), "/api/pairs?decision=rejected", { token: s.token });
    assert.deepEqual(rejected.body.items.map((i: { qaId: string }) => i.qaId).sort(), [good.qaId, scoredPair(17).qaId].sort());
    const result = await runFormat({ input: report, output: join(d, "train.jsonl"), toStdout: false, options: { template: "alpaca", threshold: 7 } });
    assert.equal(result.stats.kept.train, summary.format.kept, "the page's 'format keeps' is what format keeps");
    const train = readFileSync(join(d, "train.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(train.some((t) => t.instruction === low.question), "accepted below the threshold is kept");
    assert.ok(!train.some((t) => t.instruction === good.question), "rejected is dropped");
    assert.ok(train.some((t) => t.output === "It never drops a pair."), "the edit is the training text");
    assert.ok(train.some((t) => t.instruction === "Q2?" && t.history?.[0]?.[0] === "Q1?"), "the edited conversation, every turn");
    assert.deepEqual(result.stats.review, { applied: 5, accepted: 2, rejected: 2, edited: 2 });
  } finally { await s.stop(); }
});
