// qa-train: formatted examples → chat-template text → tokens with the prompt masked → packed token files.
//
// Output directory (default <qaDir>/tokens/):
//   train.tokens, valid.tokens   packed rows (format in qa-train-files.ts)
//   tokens.json                  what finetune needs: base model path, seq len, tokenizer/template source
//   qa_train_report.json         examples, tokens, loss tokens, truncations, packing efficiency
//   base.gguf                    only for `tiny`: the untrained tiny model with a vocabulary learned from the data
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createHash } from "node:crypto";
import { PipelineError } from "../errors.ts";
import { ExampleRecord } from "../records.ts";
import { chatTemplateOf, CHATML_TEMPLATE, splitPromptAnswer, type ChatMessage, type ChatTemplateInfo } from "../chat/template.ts";
import { openGguf } from "../gguf/reader.ts";
import { resolveBaseModel } from "../model/base-model.ts";
import { QA_TRAIN_REPORT_FILE, siblingPath, TINY_BASE_FILE, TOKENS_META_FILE, TRAIN_TOKENS_FILE, VALID_TOKENS_FILE } from "../layout.ts";
import { conversationOf } from "../transforms/format-templates.ts";
import { packExamples, type PackStats, type TokenizedExample } from "./qa-train-pack.ts";
import { writeTokenRows } from "./qa-train-files.ts";
import { buildTinyModel, TINY_CONFIG } from "../model/tiny.ts";
import { loadTokenizer, type Tokenizer } from "../tokenizer/load.ts";
import { trainSpmVocab } from "../tokenizer/spm.ts";

export interface QaTrainOptions {
  input: string;
  outDir: string;
  modelName: string;
  modelType?: string;
  seqLen: number;
  /** Share of examples without a split of their own that go to validation. */
  validFraction?: number;
  skipBadLines?: boolean;
  onWarn?: (message: string) => void;
}

export interface TokensMeta {
  version: 1;
  modelName: string;
  basePath: string;
  tiny: boolean;
  seqLen: number;
  vocab: number;
  templateSource: string;
  pad: number;
  /** The system prompt every training conversation carried (the data's or the store base's), if they share one:
   * export writes it as the Modelfile's SYSTEM, so the model runs with the prompt it was trained with. */
  system?: string;
}

export interface QaTrainReport {
  input: string;
  model: string;
  template: string;
  seqLen: number;
  badLines: number;
  /** See TokensMeta.system. */
  system?: string;
  train: PackStats;
  valid: PackStats;
}

/** tokens.json of a qa-train output directory: what finetune and export need to know about the tokens. */
export async function readTokensMeta(dir: string): Promise<TokensMeta> {
  return readJson<TokensMeta>(join(dir, TOKENS_META_FILE), "no tokens.json; run `pipeline qa-train` first");
}

/** qa_train_report.json of a qa-train output directory. */
export async function readQaTrainReport(dir: string): Promise<QaTrainReport> {
  return readJson<QaTrainReport>(join(dir, QA_TRAIN_REPORT_FILE), "no qa_train_report.json; run `pipeline qa-train` first");
}

async function readJson<T>(file: string, missing: string): Promise<T> {
  let text: string;
  try { text = await readFile(file, "utf8"); } catch { throw new PipelineError("E_INPUT", missing, { file }); }
  try { return JSON.parse(text) as T; } catch (e) { throw new PipelineError("E_INPUT", `not valid JSON (${(e as Error).message}); run \`pipeline qa-train\` again`, { file }); }
}

interface Conversation { messages: ChatMessage[]; split: "train" | "valid"; line: number; file: string }

/** The conversation in a formatted example, whichever of the four shapes it has (kept under its old name). */
export const messagesFromData = conversationOf;

/**
 * The training file, plus format's validation file beside it when there is one: then the held-out
 * split is the one format made by document (and the one export evaluates on), not a second one.
 */
async function readConversations(o: QaTrainOptions): Promise<{ items: Conversation[]; bad: number }> {
  const validFile = siblingPath(o.input, "valid");
  if (!existsSync(validFile)) return readConversationFile(o, o.input);
  const train = await readConversationFile(o, o.input, "train");
  const valid = await readConversationFile(o, validFile, "valid");
  return { items: [...train.items, ...valid.items], bad: train.bad + valid.bad };
}

async function readConversationFile(o: QaTrainOptions, file: string, forcedSplit?: "train" | "valid"): Promise<{ items: Conversation[]; bad: number }> {
  const items: Conversation[] = [];
  let bad = 0;
  let lineNo = 0;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  try {
    for await (const line of rl) {
      lineNo++;
      if (!line.trim()) continue;
      const fail = (why: string) => {
        if (!o.skipBadLines) throw new PipelineError("E_BAD_LINE", `${why}; fix the line or pass --skip-bad-lines`, { stage: "qa-train", file, line: lineNo });
        bad++;
        o.onWarn?.(`${file}:${lineNo}: ${why} (skipped)`);
      };
      let value: unknown;
      try { value = JSON.parse(line); } catch { fail("not valid JSON"); continue; }
      const asExample = ExampleRecord.safeParse(value);
      const messages = conversationOf(asExample.success ? asExample.data.data : value);
      if (!messages) { fail("not an alpaca, chatml, sharegpt or openai example ending with an assistant answer"); continue; }
      const split = forcedSplit ?? (asExample.success ? asExample.data.split : hashSplit(line, o.validFraction ?? 0.1));
      items.push({ messages, split, line: lineNo, file });
    }
  } catch (e) {
    // ENOTDIR: a file used as a folder on the way (`-i final.jsonl/x`), for the user a path that is not there.
    if (["ENOENT", "ENOTDIR"].includes((e as NodeJS.ErrnoException).code ?? "")) throw new PipelineError("E_INPUT", "training data not found; check -i or run `pipeline format` first", { stage: "qa-train", file });
    throw e;
  }
  return { items, bad };
}

/** Stable split for examples that carry none: the same line always lands on the same side. */
function hashSplit(line: string, validFraction: number): "train" | "valid" {
  const h = createHash("sha256").update(line).digest().readUInt32BE(0) / 2 ** 32;
  return h < validFraction ? "valid" : "train";
}

/**
 * Prompt tokens (no loss) then answer tokens (loss), each answer ending in an end-of-turn token. A conversation
 * trains on every assistant turn: the chat template renders each turn's prompt as the text so far, so the tokens
 * are the pieces between those prefixes. A template that rewrites earlier turns (Qwen3 drops their <think>
 * blocks) has no such prefixes: then only the last turn carries loss, as the model sees it at inference.
 */
export function tokenizeConversation(tok: Tokenizer, info: ChatTemplateInfo, messages: ChatMessage[], addBos: boolean): TokenizedExample {
  const ends = new Set([tok.eos, ...(tok.eot !== undefined ? [tok.eot] : [])]);
  const answerTokens = (text: string) => {
    const a = tok.encode(text, { special: true });
    if (!a.some((t) => ends.has(t))) a.push(tok.eos);
    return a;
  };
  const assistantAt = messages.flatMap((m, i) => (m.role === "assistant" ? [i] : []));
  const parts = assistantAt.length > 1 ? turnPieces(info, messages, assistantAt) : undefined;
  if (!parts) {
    const { prompt, answer } = splitPromptAnswer(info, messages);
    const p = tok.encode(prompt, { bos: addBos, special: true });
    return { tokens: [...p, ...answerTokens(answer)], lossFrom: p.length };
  }
  const tokens: number[] = [];
  const lossSpans: Array<[number, number]> = [];
  parts.forEach(({ prompt, answer }, k) => {
    tokens.push(...tok.encode(prompt, { bos: addBos && k === 0, special: true }));
    const a = answerTokens(answer);
    lossSpans.push([tokens.length, tokens.length + a.length]);
    tokens.push(...a);
  });
  return { tokens, lossFrom: lossSpans[0]![0], lossSpans };
}

/** Each assistant turn's new prompt text and answer text, or undefined when the renders are not prefixes of each other. */
function turnPieces(info: ChatTemplateInfo, messages: ChatMessage[], assistantAt: number[]): Array<{ prompt: string; answer: string }> | undefined {
  const out: Array<{ prompt: string; answer: string }> = [];
  let done = "";
  for (const i of assistantAt) {
    let split: { prompt: string; answer: string };
    try { split = splitPromptAnswer(info, messages.slice(0, i + 1)); } catch { return undefined; }
    if (!split.prompt.startsWith(done)) return undefined;
    out.push({ prompt: split.prompt.slice(done.length), answer: split.answer });
    done = split.prompt + split.answer;
  }
  return out;
}

export async function qaTrain(o: QaTrainOptions): Promise<{ report: QaTrainReport; meta: TokensMeta }> {
  const { items, bad } = await readConversations(o);
  if (!items.length) throw new PipelineError("E_INPUT", "no usable training examples; check the format step's output", { stage: "qa-train", file: o.input });
  await mkdir(o.outDir, { recursive: true });
  const base = await resolveBaseModel(o.modelName);
  let basePath: string;
  if (base.kind === "tiny") {
    // `tiny` learns its vocabulary from the data it will be trained on.
    basePath = join(o.outDir, TINY_BASE_FILE);
    const corpus = items.flatMap((c) => c.messages.map((m) => m.content)).join("\n");
    const vocab = trainSpmVocab(corpus, { vocabSize: TINY_CONFIG.vocab });
    await buildTinyModel(basePath, { ...TINY_CONFIG, vocab: vocab.tokens.length }, vocab, { chatTemplate: CHATML_TEMPLATE });
  } else {
    basePath = base.path;
  }
  const gguf = await openGguf(basePath);
  let info: ChatTemplateInfo;
  let addBos: boolean;
  try {
    info = chatTemplateOf(gguf, o.modelType);
    addBos = gguf.meta<boolean>("tokenizer.ggml.add_bos_token") ?? true;
  } finally {
    await gguf.close();
  }
  const tok = await loadTokenizer(basePath);
  // A store base with a SYSTEM layer runs with that system prompt in Ollama: train with it where the data has none.
  const storeSystem = base.kind === "ollama" ? base.ollama.system : undefined;
  if (storeSystem) for (const c of items) if (!c.messages.some((m) => m.role === "system")) c.messages.unshift({ role: "system", content: storeSystem });
  const train: TokenizedExample[] = [];
  const valid: TokenizedExample[] = [];
  for (const c of items) {
    let ex: TokenizedExample;
    try {
      ex = tokenizeConversation(tok, info, c.messages, addBos);
    } catch (e) {
      if (e instanceof PipelineError) throw new PipelineError(e.code, e.message, { stage: "qa-train", file: c.file, line: c.line });
      throw e;
    }
    (c.split === "valid" ? valid : train).push(ex);
  }
  // Without a validation example the eval loss would be missing: borrow one deterministic example.
  if (!valid.length && train.length > 1) valid.push(train.pop()!);
  const pad = tok.eos;
  const packedTrain = packExamples(train, o.seqLen, pad);
  const packedValid = packExamples(valid, o.seqLen, pad);
  await writeTokenRows(join(o.outDir, TRAIN_TOKENS_FILE), packedTrain.rows);
  await writeTokenRows(join(o.outDir, VALID_TOKENS_FILE), packedValid.rows);
  const systems = new Set(items.map((c) => c.messages.find((m) => m.role === "system")?.content));
  const system = systems.size === 1 ? [...systems][0] : undefined;
  const meta: TokensMeta = { version: 1, modelName: o.modelName, basePath, tiny: base.kind === "tiny", seqLen: o.seqLen, vocab: tok.vocabSize, templateSource: info.source, pad, ...(system ? { system } : {}) };
  const report: QaTrainReport = { input: o.input, model: o.modelName, template: info.source, seqLen: o.seqLen, badLines: bad, ...(system ? { system } : {}), train: packedTrain.stats, valid: packedValid.stats };
  await writeFile(join(o.outDir, TOKENS_META_FILE), JSON.stringify(meta, null, 2) + "\n");
  await writeFile(join(o.outDir, QA_TRAIN_REPORT_FILE), JSON.stringify(report, null, 2) + "\n");
  await (tok as { dispose?: () => Promise<void> }).dispose?.();
  return { report, meta };
}
