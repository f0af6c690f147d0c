// Renders the subset of Ollama's Go templates our TEMPLATEs and Ollama's library templates for plain chat use:
// {{ .System }} {{ .Prompt }} {{ .Response }}, {{ range .Messages }} with {{ .Role }} / {{ .Content }} / {{ $.System }},
// {{ if X }} / {{ else if X }} / {{ else }} / {{ end }} where X is a field or `eq|ne .Role "name"`, and {{- -}}
// trimming — enough to check that a TEMPLATE produces the prompt the model was trained on, for one turn or many.
// Anything outside the subset (functions, variables, tools) makes the render undefined: the caller cannot check it.
//
// How Ollama fills a template (ollama/template/template.go, Execute): a template that mentions .Messages gets
// {System: the system messages joined, Messages: the conversation (consecutive same-role messages joined by
// "\n\n"), Response: ""}; any other template is run once per exchange with {System, Prompt, Response} and the
// last run stops where {{ .Response }} would print.

export interface GoPromptVars { System?: string; Prompt?: string }
export interface GoChatMessage { role: string; content: string }

type Cond = { kind: "field"; root: boolean; name: string } | { kind: "eq" | "ne"; root: boolean; name: string; value: string };
type Node =
  | { kind: "text"; text: string }
  | { kind: "var"; root: boolean; name: string }
  | { kind: "if"; cond: Cond; then: Node[]; else: Node[] }
  | { kind: "range"; root: boolean; name: string; body: Node[] };

const RESPONSE = "\u0000RESPONSE\u0000";
const FIELDS = new Set(["System", "Prompt", "Response", "Messages", "Role", "Content"]);

/** The prompt Ollama sends for one system + user turn (see renderGoChat). */
export function renderGoPrompt(template: string, vars: GoPromptVars): string | undefined {
  return renderGoChat(template, [...(vars.System ? [{ role: "system", content: vars.System }] : []), { role: "user", content: vars.Prompt ?? "" }]);
}

/** The prompt Ollama sends for a conversation ending in a user turn, or undefined outside the subset. */
export function renderGoChat(template: string, messages: GoChatMessage[]): string | undefined {
  const tokens = lex(template);
  if (!tokens) return undefined;
  const parsed = parse(tokens, 0);
  if (!parsed || parsed.stop || parsed.end !== tokens.length) return undefined;
  const nodes = parsed.nodes;
  const system = messages.filter((m) => m.role === "system").map((m) => m.content).join("\n\n");
  if (mentions(nodes, "Messages")) {
    const collated: GoChatMessage[] = [];
    for (const m of messages) {
      const last = collated[collated.length - 1];
      if (last && last.role === m.role) last.content += "\n\n" + m.content;
      else collated.push({ ...m });
    }
    const root = { System: system, Messages: collated.map((m) => ({ Role: m.role, Content: m.content })), Response: "" };
    return evaluate(nodes, root, root);
  }
  // The legacy form: one run per exchange, the last cut at .Response.
  let out = "";
  let vars = { System: "", Prompt: "", Response: "" };
  const run = (v: typeof vars): string | undefined => evaluate(nodes, v, v);
  for (const m of messages) {
    const flush = (): boolean => { const r = run(vars); if (r === undefined) return false; out += r; vars = { System: "", Prompt: "", Response: "" }; return true; };
    if (m.role === "system") { if ((vars.Prompt || vars.Response) && !flush()) return undefined; vars.System = m.content; }
    else if (m.role === "user") { if (vars.Response && !flush()) return undefined; vars.Prompt = m.content; }
    else if (m.role === "assistant") vars.Response = m.content;
  }
  const last = run({ ...vars, Response: RESPONSE });
  if (last === undefined) return undefined;
  const cut = last.indexOf(RESPONSE);
  return out + (cut >= 0 ? last.slice(0, cut) : last);
}

/** True when the template uses the .Messages form (what Ollama checks to pick it). */
export function usesMessages(template: string): boolean {
  const tokens = lex(template);
  const parsed = tokens ? parse(tokens, 0) : undefined;
  return !!parsed && mentions(parsed.nodes, "Messages");
}

function mentions(nodes: Node[], name: string): boolean {
  return nodes.some((n) => n.kind === "var" ? n.name === name
    : n.kind === "range" ? n.name === name || mentions(n.body, name)
    : n.kind === "if" ? n.cond.name === name || mentions(n.then, name) || mentions(n.else, name) : false);
}

type Tok = { kind: "text"; text: string } | { kind: "action"; body: string };

function lex(src: string): Tok[] | undefined {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    if (open < 0) { toks.push({ kind: "text", text: src.slice(i) }); break; }
    let text = src.slice(i, open);
    const close = src.indexOf("}}", open + 2);
    if (close < 0) return undefined;
    let body = src.slice(open + 2, close);
    let next = close + 2;
    if (body.startsWith("-") && /^-\s/.test(body)) { text = text.replace(/\s+$/, ""); body = body.slice(1); }
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      const m = /^\s*/.exec(src.slice(next));
      next += m ? m[0].length : 0;
    }
    if (text) toks.push({ kind: "text", text });
    toks.push({ kind: "action", body: body.trim() });
    i = next;
  }
  return toks;
}

const FIELD = /^(\$)?\.(\w+)$/;

function parseCond(src: string): Cond | undefined {
  let m = FIELD.exec(src);
  if (m && FIELDS.has(m[2]!)) return { kind: "field", root: !!m[1], name: m[2]! };
  m = /^(eq|ne) (\$)?\.(\w+) "([^"\\]*)"$/.exec(src);
  if (m && FIELDS.has(m[3]!)) return { kind: m[1] as "eq" | "ne", root: !!m[2], name: m[3]!, value: m[4]! };
  return undefined;
}

type Stop = { kind: "else" } | { kind: "elseif"; cond: Cond } | { kind: "end" };

function parse(toks: Tok[], start: number): { nodes: Node[]; end: number; stop?: Stop } | undefined {
  const nodes: Node[] = [];
  let i = start;
  while (i < toks.length) {
    const t = toks[i]!;
    if (t.kind === "text") { nodes.push(t); i++; continue; }
    const body = t.body;
    let m: RegExpExecArray | null;
    if ((m = FIELD.exec(body))) {
      if (!FIELDS.has(m[2]!)) return undefined;
      nodes.push({ kind: "var", root: !!m[1], name: m[2]! }); i++; continue;
    }
    if (body.startsWith("if ")) {
      const cond = parseCond(body.slice(3).trim());
      const r = cond && parseIf(toks, i + 1, cond);
      if (!r) return undefined;
      nodes.push(r.node); i = r.end; continue;
    }
    if ((m = /^range (\$)?\.Messages$/.exec(body))) {
      const inner = parse(toks, i + 1);
      if (!inner || inner.stop?.kind !== "end") return undefined;
      nodes.push({ kind: "range", root: !!m[1], name: "Messages", body: inner.nodes }); i = inner.end; continue;
    }
    if (body === "else") return { nodes, end: i + 1, stop: { kind: "else" } };
    if (body === "end") return { nodes, end: i + 1, stop: { kind: "end" } };
    if (body.startsWith("else if ")) {
      const cond = parseCond(body.slice(8).trim());
      return cond ? { nodes, end: i + 1, stop: { kind: "elseif", cond } } : undefined;
    }
    return undefined; // outside the subset
  }
  return { nodes, end: i };
}

/** An if (with its else-if chain) whose body starts at `start`; one {{ end }} closes the whole chain. */
function parseIf(toks: Tok[], start: number, cond: Cond): { node: Node; end: number } | undefined {
  const thenPart = parse(toks, start);
  if (!thenPart?.stop) return undefined;
  if (thenPart.stop.kind === "end") return { node: { kind: "if", cond, then: thenPart.nodes, else: [] }, end: thenPart.end };
  if (thenPart.stop.kind === "elseif") {
    const chained = parseIf(toks, thenPart.end, thenPart.stop.cond);
    return chained && { node: { kind: "if", cond, then: thenPart.nodes, else: [chained.node] }, end: chained.end };
  }
  const elsePart = parse(toks, thenPart.end);
  if (elsePart?.stop?.kind !== "end") return undefined;
  return { node: { kind: "if", cond, then: thenPart.nodes, else: elsePart.nodes }, end: elsePart.end };
}

type Scope = Record<string, unknown>;

function truthy(v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 : !!v;
}

function evaluate(nodes: Node[], root: Scope, dot: Scope): string | undefined {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else if (n.kind === "var") {
      const v = (n.root ? root : dot)[n.name];
      if (v !== undefined && typeof v !== "string") return undefined;
      out += v ?? "";
    } else if (n.kind === "if") {
      const v = (n.cond.root ? root : dot)[n.cond.name];
      const ok = n.cond.kind === "field" ? truthy(v) : n.cond.kind === "eq" ? v === n.cond.value : v !== n.cond.value;
      const r = evaluate(ok ? n.then : n.else, root, dot);
      if (r === undefined) return undefined;
      out += r;
    } else {
      const list = (n.root ? root : dot)[n.name];
      if (!Array.isArray(list)) return undefined;
      for (const item of list) {
        const r = evaluate(n.body, root, item as Scope);
        if (r === undefined) return undefined;
        out += r;
      }
    }
  }
  return out;
}
