// What validate accepts: our QA records, or the seed's plain {question, answer, context?} objects.
import { qaId, stableId, type QaRecord } from "../records.ts";

/** A seed-style pair becomes a QA record with stable ids; anything else is passed through for the schema to judge. */
export function coerceQa(value: unknown): unknown {
  if (!value || typeof value !== "object" || "type" in value) return value;
  const v = value as Record<string, unknown>;
  if (typeof v.question !== "string" || typeof v.answer !== "string") return value;
  const str = (...keys: string[]) => keys.map((k) => v[k]).find((x): x is string => typeof x === "string");
  const context = str("context", "chunk", "chunk_text", "text");
  const source = str("source", "source_file", "file", "document") ?? "";
  const chunkId = str("chunkId", "chunk_id") ?? stableId("chunk", source, context ?? "");
  const record: QaRecord = {
    type: "qa",
    id: qaId(chunkId, v.question, v.answer),
    docId: str("docId", "doc_id") ?? stableId("doc", source),
    chunkId,
    source,
    question: v.question,
    answer: v.answer,
    evidence: str("evidence") ?? "",
    context,
    provider: str("provider") ?? "unknown",
    model: str("model") ?? "unknown",
    usage: { inputTokens: 0, outputTokens: 0 },
  };
  return record;
}
