// A vendor's structured-output schema made from the zod schema that parses the reply, so the two cannot disagree.
import { z } from "zod";
import type { JsonSchemaSpec } from "./types.ts";

/**
 * JSON Schema (draft-07, no `$schema` key: vendors take the bare object) for a zod schema. Send the strict
 * shape (every field required, bounds stated); parse with a lenient one derived from it where a model may
 * leave an optional field out.
 */
export function jsonSchemaSpec(name: string, schema: z.ZodType, o: { strict?: boolean } = {}): JsonSchemaSpec {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { target: "draft-7", io: "input" }) as Record<string, unknown>;
  return { name, schema: json, ...(o.strict ? { strict: true } : {}) };
}
