// Renders the single-turn subset of Ollama's Go templates ({{ .System }}, {{ .Prompt }}, {{ if }}/{{ else }}/{{ end }},
// {{- -}} trimming) up to {{ .Response }}: enough to check a TEMPLATE produces the prompt the model was trained on.

export interface GoPromptVars { System?: string; Prompt?: string }

type Node =
  | { kind: "text"; text: string }
  | { kind: "var"; name: string }
  | { kind: "if"; name: string; then: Node[]; else: Node[] };

const RESPONSE = "\u0000RESPONSE\u0000";

/**
 * The prompt Ollama sends for one system + user turn, or undefined when the template uses anything
 * outside the subset (ranges over .Messages, functions, variables) — the caller then cannot check it.
 */
export function renderGoPrompt(template: string, vars: GoPromptVars): string | undefined {
  const tokens = lex(template);
  if (!tokens) return undefined;
  const parsed = parse(tokens, 0, false);
  if (!parsed || parsed.end !== tokens.length) return undefined;
  const out = evaluate(parsed.nodes, { ...vars, Response: RESPONSE });
  if (out === undefined) return undefined;
  const cut = out.indexOf(RESPONSE);
  return cut >= 0 ? out.slice(0, cut) : out;
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

function parse(toks: Tok[], start: number, inIf: boolean): { nodes: Node[]; end: number; stop?: "else" | "end" } | undefined {
  const nodes: Node[] = [];
  let i = start;
  while (i < toks.length) {
    const t = toks[i]!;
    if (t.kind === "text") { nodes.push(t); i++; continue; }
    const body = t.body;
    let m: RegExpExecArray | null;
    if ((m = /^\.(System|Prompt|Response)$/.exec(body))) { nodes.push({ kind: "var", name: m[1]! }); i++; continue; }
    if ((m = /^if \.(System|Prompt|Response)$/.exec(body))) {
      const thenPart = parse(toks, i + 1, true);
      if (!thenPart) return undefined;
      let elsePart: Node[] = [];
      let j = thenPart.end;
      if (thenPart.stop === "else") {
        const e = parse(toks, j, true);
        if (!e || e.stop !== "end") return undefined;
        elsePart = e.nodes;
        j = e.end;
      } else if (thenPart.stop !== "end") return undefined;
      nodes.push({ kind: "if", name: m[1]!, then: thenPart.nodes, else: elsePart });
      i = j;
      continue;
    }
    if (inIf && (body === "else" || body === "end")) return { nodes, end: i + 1, stop: body };
    return undefined; // outside the subset
  }
  return inIf ? undefined : { nodes, end: i };
}

function evaluate(nodes: Node[], vars: Record<string, string | undefined>): string | undefined {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else if (n.kind === "var") out += vars[n.name] ?? "";
    else {
      const r = evaluate(vars[n.name] ? n.then : n.else, vars);
      if (r === undefined) return undefined;
      out += r;
    }
  }
  return out;
}
