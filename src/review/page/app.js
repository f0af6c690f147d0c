// The review page: vanilla JS, no build step. Every piece of data from the report goes into the page through
// textContent / text nodes only (never as markup), so a pair holding "<script>" shows as text.
"use strict";
(() => {
  const token = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = String(text); return e; };
  const PAGE = 50;
  const st = { filter: {}, offset: 0, items: [], sel: -1, total: 0, pair: null, editing: false, threshold: null, summary: null };

  async function api(path, body) {
    const res = await fetch(path, body === undefined
      ? { headers: { "X-Review-Token": token } }
      : { method: "POST", headers: { "X-Review-Token": token, "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await res.json().catch(() => ({ error: res.statusText }));
    if (!res.ok) { status(`error: ${data.error || res.status}`); throw new Error(data.error || String(res.status)); }
    return data;
  }
  function status(text) { $("status").textContent = text; }

  // The filter lives in the URL's hash, so a reload shows the same list.
  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    st.filter = {};
    for (const k of ["verdict", "check", "doc", "decision", "min", "max", "q"]) if (p.get(k)) st.filter[k] = p.get(k);
    st.offset = Math.max(0, Number(p.get("offset")) || 0);
    st.selId = p.get("pair") || null;
  }
  function writeHash() {
    const p = new URLSearchParams(st.filter);
    if (st.offset) p.set("offset", String(st.offset));
    const cur = st.items[st.sel];
    if (cur) p.set("pair", cur.qaId);
    history.replaceState(null, "", `${location.pathname}${location.search}#${p}`);
  }
  const query = (extra) => new URLSearchParams({ ...st.filter, ...extra }).toString();

  function fillSelect(id, label, options, value) {
    const s = $(id);
    s.replaceChildren();
    s.append(new Option(label, ""));
    for (const [v, text] of options) s.append(new Option(text, v));
    s.value = value || "";
  }

  async function loadSummary() {
    const t = st.threshold === null ? "" : `?threshold=${encodeURIComponent(st.threshold)}`;
    const s = await api(`/api/summary${t}`);
    st.summary = s;
    if (st.threshold === null) { st.threshold = s.threshold; $("threshold").value = String(s.threshold); }
    const box = $("summary");
    box.replaceChildren();
    box.append(el("span", "", `${s.total} pairs`));
    for (const [v, n] of Object.entries(s.verdicts)) { const b = el("span", `badge ${v}`, `${v} ${n}`); box.append(b); }
    const hist = el("span", "hist");
    hist.title = "overall score 0–10";
    const top = Math.max(1, ...s.histogram);
    s.histogram.forEach((n, i) => { const bar = el("span"); bar.style.height = `${Math.max(1, Math.round((n / top) * 24))}px`; bar.title = `${i}–${i + 1}: ${n}`; hist.append(bar); });
    box.append(hist);
    box.append(el("span", "", `${s.docs.length} document(s)`));
    box.append(el("span", "", `decided: ${s.decisions.accepted} accepted, ${s.decisions.rejected} rejected, ${s.decisions.edited} edited`));
    const keep = el("strong", "", `format keeps ${s.format.kept} of ${s.total} at ≥ ${s.threshold}`);
    keep.id = "format-keeps";
    keep.title = Object.entries(s.format.dropped).map(([k, n]) => `${k}: ${n}`).join(", ");
    box.append(keep);
  }

  async function loadList(keepSel) {
    const prevId = keepSel ? (st.items[st.sel] || {}).qaId || st.selId : st.selId;
    const r = await api(`/api/pairs?${query({ offset: String(st.offset), limit: String(PAGE) })}`);
    st.items = r.items; st.total = r.total;
    const c = r.counts, f = st.filter, docs = st.summary ? st.summary.docs : [];
    fillSelect("verdict", "any verdict", Object.entries(c.verdict).map(([v, n]) => [v, `${v} (${n})`]), f.verdict);
    fillSelect("check", "any checks", Object.entries(c.check).map(([k, n]) => [k, `${k.replace(/_/g, " ")} (${n})`]), f.check);
    fillSelect("doc", "all documents", docs.map((d) => [String(d.i), `${d.name || "(no source)"} (${c.doc[d.i]})`]), f.doc);
    fillSelect("decision", "any decision", Object.entries(c.decision).map(([k, n]) => [k, `${k} (${n})`]), f.decision);
    $("q").value = f.q || ""; $("min").value = f.min || ""; $("max").value = f.max || "";
    $("total").textContent = `${r.total} pair(s) match`;
    $("page").textContent = r.total ? `${st.offset + 1}–${Math.min(r.total, st.offset + PAGE)} of ${r.total}` : "none";
    $("prev").disabled = st.offset === 0; $("next").disabled = st.offset + PAGE >= r.total;
    const list = $("list");
    list.replaceChildren();
    r.items.forEach((it, k) => {
      const li = el("li", it.status || "");
      li.dataset.k = String(k);
      li.dataset.qaid = it.qaId;
      li.append(el("span", `badge ${it.verdict}`, it.verdict), el("span", "", it.overall.toFixed(1)), el("span", "q", it.question || "(no question)"));
      const marks = [it.status === "accepted" ? "✓" : it.status === "rejected" ? "✗" : "", it.edited ? "edited" : "", it.turns > 1 ? `${it.turns} turns` : "", it.checks.length ? `⚠ ${it.checks.join(", ")}` : ""].filter(Boolean).join(" · ");
      li.append(el("span", "mark", marks));
      li.addEventListener("click", () => select(k));
      list.append(li);
    });
    let k = prevId ? r.items.findIndex((it) => it.qaId === prevId) : -1;
    if (k < 0 && keepSel && st.sel >= 0) k = Math.min(st.sel, r.items.length - 1);
    if (k < 0 && r.items.length) k = 0;
    st.sel = -1;
    if (k >= 0) await select(k); else $("detail").replaceChildren(el("p", "empty", "No pair matches."));
  }

  async function select(k) {
    if (k < 0 || k >= st.items.length) return;
    st.sel = k; st.editing = false;
    for (const li of $("list").children) li.classList.toggle("sel", li.dataset.k === String(k));
    const li = $("list").children[k];
    if (li) li.scrollIntoView({ block: "nearest" });
    st.pair = await api(`/api/pair?i=${st.items[k].i}`);
    writeHash();
    renderDetail();
  }

  const turnsOf = (r) => (r.turns && r.turns.length > 1 ? r.turns : [{ question: r.question, answer: r.answer, evidence: r.evidence }]);

  /** The chunk text with each found evidence range in <mark>, built from text nodes. */
  function chunkView(context, evidence) {
    const box = el("div", "chunk");
    box.id = "chunk";
    const ranges = evidence.map((e) => e.at).filter(Boolean).sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [s, e] of ranges) {
      if (s < at) continue;
      box.append(document.createTextNode(context.slice(at, s)), el("mark", "", context.slice(s, e)));
      at = e;
    }
    box.append(document.createTextNode(context.slice(at)));
    return box;
  }

  function checkLine(ev, n) {
    const line = el("div", "check");
    line.append(el("span", ev.at ? "ok" : "bad", ev.at ? "evidence found in the chunk" : "evidence not found"));
    line.append(document.createTextNode(" · "));
    line.append(el("span", ev.grounded ? "ok" : "bad", ev.grounded ? "grounded" : "ungrounded"));
    line.append(document.createTextNode(" · "));
    line.append(el("span", ev.supported ? "ok" : "bad", `answer support ${Math.round(ev.support * 100)}%`));
    line.dataset.turn = String(n);
    return line;
  }

  function renderDetail() {
    const p = st.pair, r = p.shown, d = $("detail");
    d.replaceChildren();
    const h = el("h2");
    h.append(el("span", `badge ${p.record.verdict}`, p.record.verdict), el("span", "", `overall ${p.record.scores.overall}`), el("span", "mark", r.source));
    const s = el("span", `state ${p.state.status || ""}`, p.state.status ? p.state.status : "undecided");
    s.id = "state";
    h.append(s);
    if (p.state.edits) h.append(el("span", "mark", "edited"));
    d.append(h);
    const actions = el("div", "actions");
    const btn = (id, text, fn) => { const b = el("button", "", text); b.type = "button"; b.id = id; b.addEventListener("click", fn); actions.append(b); return b; };
    if (st.editing) {
      btn("save", "save edit (Ctrl+Enter)", saveEdit);
      btn("cancel", "cancel (Esc)", () => { st.editing = false; renderDetail(); });
    } else {
      btn("accept", "accept (a)", () => decide("accept"));
      btn("reject", "reject (r)", () => decide("reject"));
      btn("edit", "edit (e)", startEdit);
      btn("undo", "undo (u)", () => decide("undo")).disabled = !p.state.actions;
    }
    d.append(actions);
    const turns = turnsOf(r);
    const evidence = st.liveEvidence || p.evidence;
    turns.forEach((t, n) => {
      const box = el("div", "turn");
      if (turns.length > 1) box.append(el("div", "label", `turn ${n + 1} of ${turns.length}`));
      for (const field of ["question", "answer", "evidence"]) {
        box.append(el("div", "label", field));
        if (st.editing) {
          const ta = el("textarea");
          ta.value = t[field] || "";
          ta.dataset.turn = String(n); ta.dataset.field = field;
          ta.addEventListener("input", recheck);
          box.append(ta);
        } else box.append(el("div", "text", t[field] || "—"));
      }
      if (evidence[n]) box.append(checkLine(evidence[n], n));
      d.append(box);
    });
    if (r.reasoning) { const b = el("div", "turn"); b.append(el("div", "label", "reasoning"), el("div", "text", r.reasoning)); d.append(b); }
    const sc = p.record.scores, table = el("table", "scores"), tr1 = el("tr"), tr2 = el("tr");
    for (const k of ["accuracy", "relevance", "clarity", "completeness", "overall"]) { tr1.append(el("th", "", k)); tr2.append(el("td", "", sc[k])); }
    table.append(tr1, tr2);
    d.append(el("div", "label", "scores"), table);
    const judge = p.record.judge;
    if (judge) d.append(el("div", "check", `judge: ${judge.provider} ${judge.model}${judge.error ? ` — error: ${judge.error}` : ""}`));
    if (p.record.error) d.append(el("div", "check bad", `generation error: ${p.record.error}`));
    if (p.checks.length) d.append(el("div", "check bad", `failed checks: ${p.checks.join(", ")}`));
    const c = p.record.checks || {};
    d.append(el("div", "check", `checks: grounded ${c.grounded}, supported ${c.supported}, length ${c.length}, language ${c.language || "?"}${c.answerFit !== undefined ? `, answer fit ${c.answerFit.toFixed(2)}` : ""}${c.duplicateOf ? `, duplicate of ${c.duplicateOf}` : ""}`));
    d.append(el("div", "label", "source chunk"));
    if (p.context !== null) {
      d.append(chunkView(p.context, evidence));
      if (!evidence.some((e) => e.at)) d.append(el("div", "notfound", "evidence quote not found in the chunk"));
    } else d.append(el("div", "empty", "source chunk not available: give pipeline review --chunks FILE (chunks.ndjson)"));
  }

  function editsFromForm() {
    const turns = turnsOf(st.pair.shown).map((t) => ({ ...t }));
    for (const ta of $("detail").querySelectorAll("textarea")) turns[Number(ta.dataset.turn)][ta.dataset.field] = ta.value;
    if (turns.length > 1) return { turns: turns.map((t) => ({ question: t.question, answer: t.answer, evidence: t.evidence || "" })) };
    return { question: turns[0].question, answer: turns[0].answer, evidence: turns[0].evidence || "" };
  }
  function startEdit() { st.editing = true; st.liveEvidence = null; renderDetail(); const ta = $("detail").querySelector("textarea"); if (ta) ta.focus(); }
  let recheckTimer = 0;
  function recheck() {
    clearTimeout(recheckTimer);
    recheckTimer = setTimeout(async () => {
      const r = await api("/api/check", { i: st.pair.i, edits: editsFromForm() });
      const boxes = $("detail").querySelectorAll(".turn");
      r.evidence.forEach((ev, n) => { const box = boxes[n]; if (!box) return; const old = box.querySelector(".check"); const line = checkLine(ev, n); if (old) old.replaceWith(line); else box.append(line); });
      const chunk = $("chunk");
      if (chunk && st.pair.context !== null) chunk.replaceWith(chunkView(st.pair.context, r.evidence));
    }, 200);
  }
  async function saveEdit() {
    const edits = editsFromForm();
    if (!edits.turns && (!edits.question || !edits.answer)) { status("a question and an answer are needed"); return; }
    st.editing = false;
    await decide("edit", edits);
  }

  async function decide(action, edits) {
    const it = st.items[st.sel];
    if (!it) return;
    await api("/api/decide", edits ? { qaId: it.qaId, action, edits } : { qaId: it.qaId, action });
    status(`${action} saved`);
    const next = action === "accept" || action === "reject";
    await loadSummary();
    await loadList(true);
    if (next && st.sel >= 0 && st.items[st.sel] && st.items[st.sel].qaId === it.qaId) await select(st.sel + 1);
  }

  async function bulk(action) {
    if (!st.total) return;
    if (!window.confirm(`${action} all ${st.total} pair(s) that match the filter?`)) return;
    const filter = Object.fromEntries(Object.entries(st.filter).filter(([, v]) => v !== ""));
    const r = await api("/api/bulk", { action, filter });
    status(`${action}: ${r.changed} pair(s) changed`);
    await loadSummary();
    await loadList(true);
  }

  function setFilter(k, v) {
    if (v === "" || v === null) delete st.filter[k]; else st.filter[k] = v;
    st.offset = 0; st.selId = null;
    writeHash();
    loadList(false).catch(() => {});
  }

  function wire() {
    for (const id of ["verdict", "check", "doc", "decision"]) $(id).addEventListener("change", (e) => setFilter(id, e.target.value));
    for (const id of ["min", "max"]) $(id).addEventListener("change", (e) => setFilter(id, e.target.value));
    let qTimer = 0;
    $("q").addEventListener("input", (e) => { clearTimeout(qTimer); qTimer = setTimeout(() => setFilter("q", e.target.value.trim()), 300); });
    $("filters").addEventListener("submit", (e) => e.preventDefault());
    $("threshold").addEventListener("change", (e) => { st.threshold = e.target.value; loadSummary().catch(() => {}); });
    $("prev").addEventListener("click", () => page(-1));
    $("next").addEventListener("click", () => page(1));
    $("bulk-accept").addEventListener("click", () => bulk("accept"));
    $("bulk-reject").addEventListener("click", () => bulk("reject"));
    document.addEventListener("keydown", onKey);
    // A link or an edited address with another filter: show it (replaceState above fires no hashchange).
    window.addEventListener("hashchange", () => { readHash(); loadList(false).catch(() => {}); });
  }
  function page(dir) {
    const o = st.offset + dir * PAGE;
    if (o < 0 || o >= st.total) return;
    st.offset = o; st.selId = null;
    loadList(false).catch(() => {});
  }
  function onKey(e) {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
    if (st.editing) {
      if (e.key === "Escape") { st.editing = false; renderDetail(); }
      else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); saveEdit(); }
      return;
    }
    if (typing) { if (e.key === "Escape") e.target.blur(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const keys = { A: () => bulk("accept"), R: () => bulk("reject"), j: () => select(st.sel + 1), k: () => select(st.sel - 1), a: () => decide("accept"), r: () => decide("reject"), e: startEdit, u: () => decide("undo"), n: () => page(1), p: () => page(-1), "/": () => $("q").focus() };
    const fn = keys[e.key];
    if (fn) { e.preventDefault(); Promise.resolve(fn()).catch(() => {}); }
  }

  readHash();
  wire();
  loadSummary().then(() => loadList(false)).then(() => status("ready")).catch(() => {});
})();
