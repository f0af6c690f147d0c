// The offline Q&A generator: deterministic, self-contained questions built from a chunk's own
// sentences ("X is Y" → "What is X?", "To X, run Y" → "How do you X?", lists → "What are the steps…"),
// answered by those sentences, with the exact quote as evidence. No model, no network.
import { parseChunk, plain, type ChunkStructure, type ListBlock, type Sentence } from "./extractive-text.ts";

export interface ExtractivePair {
  question: string;
  answer: string;
  /** Exact text of the chunk the answer comes from. */
  evidence: string;
  /** Offsets of the evidence inside the chunk text. */
  start: number;
  end: number;
  /** Which rule made it (for reports and tests). */
  rule: "definition" | "how-to" | "list" | "action";
}

export const EXTRACTIVE_MODEL = "extractive-v1";

// Words that point outside the sentence: a question about "it" or "this" is not self-contained.
const DEICTIC = /^(?:it|its|this|that|these|those|they|them|their|there|here|he|she|we|you|i|such|which|what|who|whose|whom|where|when|why|how|if|because|while|whether|although|though|since|after|before|once|unless|until|with|without|for|from|in|on|at|by|one|some|all|most|many|both|each|either|neither|another|other|others|none|everything|something|anything|nothing)$/i;
const CONNECTIVE = /^(?:however|but|and|or|so|also|then|thus|therefore|hence|otherwise|instead|still|yet|finally|first|second|next|meanwhile|moreover|furthermore|additionally|similarly|likewise|for example|e\.g\.|i\.e\.)\b/i;
const ARTICLE = /^(?:the|a|an)\s+/i;

// Verbs whose object is the natural thing to ask about ("What does the chunk step read?").
const ACTION_VERBS: Record<string, string> = {
  allows: "allow", lets: "let", enables: "enable", supports: "support", provides: "provide", uses: "use",
  requires: "require", needs: "need", writes: "write", reads: "read", stores: "store",
  contains: "contain", includes: "include", produces: "produce",
  returns: "return", keeps: "keep", drops: "drop",
  prints: "print", accepts: "accept", loads: "load", saves: "save",
  checks: "check", scores: "score", measures: "measure", removes: "remove", adds: "add",
  shows: "show", controls: "control", sets: "set",
  defines: "define", describes: "describe", determines: "determine", skips: "skip",
  counts: "count", finds: "find", detects: "detect", replaces: "replace", formats: "format", filters: "filter",
  carries: "carry", asks: "ask", gives: "give", lists: "list", names: "name",
};

// Verbs that say what something does rather than what it acts on: asked as "What does X do?".
const DOING_VERBS = new Set(["turns", "converts", "splits", "runs", "trains", "takes", "makes", "stops", "merges", "handles", "sends", "exports", "builds", "creates", "generates", "renders", "tokenizes", "answers", "works", "starts", "continues", "retries", "waits", "fails"]);

// Participles a passive sentence is asked about as "How is X <participle>?".
const PASSIVE = /^(?:[a-z]+ed|split|read|written|run|made|kept|built|set|sent|given|shown|done|found|known|taken|chosen|held|put|cut|spent|paid|drawn|broken)$/;

// A subject made of an article and one of these words alone does not say what it is about.
const VAGUE_NOUN = /^(?:the|a|an|this|that)\s+(?:step|tool|command|file|files|model|run|process|user|system|result|results|output|input|option|flag|value|program|method|function|way|thing|one|part|data|text|item|case|default|defaults|answer|reason|problem|rest|difference|same|pdf|document|chunk|page|section|example|error|message|list|table|folder|key|name|first|last|following|above|below)$/i;

/** A one-word subject with no article must look like a name (digits, capitals inside, or capitalised mid-sentence). */
function nameLike(word: string, casing: Casing): boolean {
  return /\d|^[\p{Lu}0-9_]{2,}$|.\p{Lu}|^[-`]/u.test(word) || casing.capitalised.has(word);
}

/**
 * Subject fit to ask about: self-contained, specific, and a name when it is a single bare word. A term being
 * defined ("Ollama is a tool …") may be any word the chunk never writes in lower case.
 */
function goodSubject(subject: string, casing: Casing, defining = false): boolean {
  const bare = subject.replace(/^(?:Each|Every)\s+/i, "the ");
  if (!subjectOk(bare) || VAGUE_NOUN.test(subject)) return false;
  return subject.includes(" ") || nameLike(subject, casing) || (defining && !casing.lower.has(subject.toLowerCase()));
}

function wordCount(s: string): number {
  return s.split(/\s+/).filter(Boolean).length;
}

/** Prose a question can be made from: a whole sentence, not code, not a heading, not a fragment. */
export function usableSentence(raw: string): boolean {
  const text = plain(raw);
  const n = wordCount(text);
  if (n < 5 || n > 60) return false;
  if (!/[.!]["')\]]?$/.test(text)) return false;
  if (!/^["'(]?[\p{Lu}\p{N}]/u.test(text) && !/^`|^\p{Ll}[\p{L}-]*\d/u.test(raw)) return false;
  const letters = text.replace(/[^\p{L}]/gu, "").length;
  if (letters / text.length < 0.65) return false;
  const code = (raw.match(/[{};=<>$\\|]/g) ?? []).length;
  if (code > 2) return false;
  const ticks = raw.match(/`[^`]*`/g)?.join("").length ?? 0;
  if (ticks > raw.length * 0.4) return false;
  return true;
}

interface Casing { lower: Set<string>; capitalised: Set<string> }

/**
 * Lower-case the first word of a subject taken from a sentence start, unless it is a name: all caps,
 * inner capitals, or (for sentence subjects) never seen lower-case in the chunk; headings are
 * lower-cased unless the word is seen capitalised mid-sentence.
 */
function subjectCase(subject: string, casing: Casing, fromHeading = false): string {
  const [first, ...rest] = subject.split(" ");
  if (!first) return subject;
  if (ARTICLE.test(first + " ") || /^(?:each|every)$/i.test(first)) return [first.toLowerCase(), ...rest].join(" ");
  const lower = first.toLowerCase();
  if (/^[\p{Lu}\d]{2,}$/u.test(first) || /\p{Lu}/u.test(first.slice(1))) return subject;
  // A capitalised first word is a name if the chunk also capitalises it mid-sentence ("… with Ollama"),
  // or if it stands alone and the chunk never writes it in lower case ("Ollama is a tool …").
  const name = casing.capitalised.has(first) || (!fromHeading && !rest.length && !casing.lower.has(lower));
  return name ? subject : [lower, ...rest].join(" ");
}

function subjectOk(subject: string): boolean {
  const words = subject.replace(ARTICLE, "").split(/\s+/).filter(Boolean);
  if (!words.length || words.length > 7) return false;
  if (words.some((w) => DEICTIC.test(w.replace(/[^\p{L}]/gu, "")))) return false;
  if (/[,;:()"]/.test(subject)) return false;
  return /\p{L}/u.test(subject);
}

function stripEnd(s: string): string {
  return s.replace(/[\s.!:;,]+$/u, "");
}

interface Draft { question: string; rule: ExtractivePair["rule"]; sentence?: Sentence; list?: ListBlock; priority: number }

function fromSentence(s: Sentence, lowerWords: Casing): Draft | undefined {
  // PDF text often glues a section heading to the first sentence ("Folders PIPELINE_INPUT_DIR is …"):
  // start the sentence at the setting's name instead.
  const glued = /^(?:[\p{L}-]+\s+){1,2}(?=[A-Z][A-Z0-9]*_[A-Z0-9_]+\s)/u.exec(s.raw);
  if (glued) s = { ...s, raw: s.raw.slice(glued[0].length), start: s.start + glued[0].length };
  if (!usableSentence(s.raw) || CONNECTIVE.test(s.raw)) return undefined;
  const text = stripEnd(plain(s.raw));

  const howTo = /^To (?!(?:the|a|an|this|that|its|their|your|each|every|all|some|be)\s)([a-z][^,]{3,90}),\s+\S/u.exec(text);
  if (howTo && !/\b(?:this|that|it|these|those)\b/i.test(howTo[1]!)) {
    return { question: `How do you ${howTo[1]}?`, rule: "how-to", sentence: s, priority: 0 };
  }
  const byMeans = /^You can ([a-z][^,]{3,90}?) by (\S.+)$/u.exec(text);
  if (byMeans) return { question: `How can you ${byMeans[1]}?`, rule: "how-to", sentence: s, priority: 0 };
  const runTo = /^(?:Run|Use|Set|Pass|Call|Add|Install|Type|Open|Choose|Start|Give) (.{2,80}?) to (?!(?:the|a|an|this|that|its|their|your|each|every|all|some|be)\s)([a-z][^,]{3,80})$/u.exec(text);
  if (runTo && !/\b(?:this|that|it|these|those)\b/i.test(runTo[2]!)) {
    return { question: `How do you ${runTo[2]}?`, rule: "how-to", sentence: s, priority: 0 };
  }

  const def = /^(.{2,70}?)\s+(is|are|means|refers to|stands for)\s+(.{8,})$/u.exec(text);
  if (def) {
    const [, subject, verb, rest] = def as unknown as [string, string, string, string];
    const definitional = verb !== "is" && verb !== "are" ? true : /^(?:a|an|the|one of|any|how|what|where|when)\s/i.test(rest);
    if (definitional && goodSubject(subject, lowerWords, true)) {
      const x = subjectCase(subject, lowerWords);
      const question =
        verb === "means" ? `What does ${x} mean?`
        : verb === "refers to" ? `What does ${x} refer to?`
        : verb === "stands for" ? `What does ${x} stand for?`
        : `What ${verb} ${x}?`;
      return { question, rule: "definition", sentence: s, priority: 0 };
    }
    if ((verb === "is" || verb === "are") && /^used (?:to|for)\s/i.test(rest) && subjectOk(subject)) {
      return { question: `What ${verb} ${subjectCase(subject, lowerWords)} used for?`, rule: "definition", sentence: s, priority: 1 };
    }
  }

  const subjectPattern = String.raw`((?:The|A|An|Each|Every)\s+[^,;:()]{2,60}?|[\p{L}][\w.-]*(?:\s+[\w.-]+){0,3}?)`;
  const action = new RegExp(`^${subjectPattern}\\s+([a-z]+s)\\s+(.{6,})$`, "u").exec(text);
  if (action) {
    const [, subject, verb] = action as unknown as [string, string, string];
    const base = ACTION_VERBS[verb];
    const ok = goodSubject(subject, lowerWords);
    // "asks for X" → "ask for?": the preposition belongs to the verb.
    const prep = /^(for|about|on|with|from|into|to)\s/.exec(action[3]!)?.[1];
    if (ok && base) return { question: `What does ${subjectCase(subject, lowerWords)} ${base}${prep ? ` ${prep}` : ""}?`, rule: "action", sentence: s, priority: 2 };
    if (ok && DOING_VERBS.has(verb)) return { question: `What does ${subjectCase(subject, lowerWords)} do?`, rule: "action", sentence: s, priority: 2 };
  }

  const passive = new RegExp(`^${subjectPattern}\\s+(is|are)\\s+(?:(?:always|usually|often|only|also|then|first|once)\\s+)?([a-z]+)\\s+(\\S.{4,})$`, "u").exec(text);
  if (passive) {
    const [, subject, verb, participle] = passive as unknown as [string, string, string, string];
    if (PASSIVE.test(participle) && goodSubject(subject, lowerWords)) {
      return { question: `How ${verb} ${subjectCase(subject, lowerWords)} ${participle}?`, rule: "action", sentence: s, priority: 3 };
    }
  }
  return undefined;
}

function fromList(list: ListBlock, lowerWords: Casing): Draft | undefined {
  if (list.items.length < 2 || list.items.some((i) => wordCount(i) > 60)) return undefined;
  if (list.raw.length > 1200) return undefined;
  const lead = list.lead ? stripEnd(plain(list.lead.raw)) : undefined;
  if (lead) {
    const to = /^To ([a-z][^,]{3,80})$/u.exec(lead);
    if (to) return { question: `What are the steps to ${to[1]}?`, rule: "list", list, priority: 1 };
    const what = /^(.{2,60}?)\s+(supports|includes|has|accepts|provides|reads|writes|offers|contains|uses|needs|requires)\s+(?:the following|these|several|two|three|four|five|six|seven|eight|nine|ten|many|some)\s+([\p{L}\s-]{2,40})$/u.exec(lead);
    if (what && subjectOk(what[1]!)) {
      const base = ACTION_VERBS[what[2]!] ?? (what[2] === "has" ? "have" : undefined);
      if (base) return { question: `What ${what[3]!.trim()} does ${subjectCase(what[1]!, lowerWords)} ${base}?`, rule: "list", list, priority: 1 };
    }
  }
  const topic = list.heading && wordCount(list.heading) <= 8 && /\p{L}/u.test(list.heading) ? stripEnd(list.heading) : undefined;
  if (!topic) return undefined;
  const t = subjectCase(topic, lowerWords, true);
  const question = list.numbered ? `What are the steps for ${t}?` : `What are the main points about ${t}?`;
  return { question, rule: "list", list, priority: 2 };
}

function normQuestion(q: string): string {
  return q.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

/** The sentence, plus the next one when it carries on about the same subject ("It …", "This …"). */
function answerSpan(s: Sentence, structure: ChunkStructure, text: string): { start: number; end: number } {
  const i = structure.sentences.findIndex((x) => x.end === s.end);
  const next = structure.sentences[i + 1];
  const between = next ? text.slice(s.end, next.start) : "";
  if (next && /^(?:It|This|They|These)\s/.test(next.raw) && !between.includes("\n\n") && usableSentence(next.raw)) {
    return { start: s.start, end: next.end };
  }
  return { start: s.start, end: s.end };
}

/**
 * Up to `count` pairs from a chunk's text, best rules first, in the order they appear. Fewer when the
 * chunk holds fewer usable sentences (the caller records the shortfall). Same text → same pairs.
 */
export function extractPairs(text: string, count: number): ExtractivePair[] {
  const structure = parseChunk(text);
  const lowerWords: Casing = {
    lower: new Set(text.match(/(?<![\p{L}\p{N}])\p{Ll}[\p{Ll}\p{N}-]*/gu) ?? []),
    capitalised: new Set(text.match(/(?<=[\p{Ll}\p{N},;] )\p{Lu}[\p{L}\p{N}-]*/gu) ?? []),
  };
  const drafts: Array<Draft & { position: number }> = [];
  for (const s of structure.sentences) {
    if (s.raw.endsWith(":") && structure.lists.some((l) => l.lead === s)) continue;
    const d = fromSentence(s, lowerWords);
    if (d) drafts.push({ ...d, position: s.start });
  }
  for (const l of structure.lists) {
    const d = fromList(l, lowerWords);
    if (d) drafts.push({ ...d, position: l.start });
  }
  drafts.sort((a, b) => a.priority - b.priority || a.position - b.position);

  const seen = new Set<string>();
  const chosen: Array<Draft & { position: number }> = [];
  for (const d of drafts) {
    if (chosen.length >= count) break;
    const key = normQuestion(d.question);
    if (seen.has(key)) continue;
    seen.add(key);
    chosen.push(d);
  }
  chosen.sort((a, b) => a.position - b.position);

  return chosen.map((d) => {
    if (d.list) {
      // The introducing sentence belongs to the answer: it says what the items are.
      const items = d.list.items.map((it, i) => (d.list!.numbered ? `${i + 1}. ${it}` : `- ${it}`)).join("\n");
      const lead = d.list.lead;
      const start = lead ? lead.start : d.list.start;
      return { question: d.question, answer: lead ? `${plain(lead.raw)}\n${items}` : items, evidence: text.slice(start, d.list.end), start, end: d.list.end, rule: d.rule };
    }
    const span = answerSpan(d.sentence!, structure, text);
    const evidence = text.slice(span.start, span.end);
    return { question: d.question, answer: plain(evidence), evidence, start: span.start, end: span.end, rule: d.rule };
  });
}
