// JSON Schema → the OpenAPI-subset Schema that Gemini's responseSchema accepts (upper-case types, no $refs).
export type GeminiSchema = Record<string, unknown>;

const KEEP = new Set(["description", "format", "enum", "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern", "title"]);

export function toGeminiSchema(schema: Record<string, unknown>): GeminiSchema {
  const out: GeminiSchema = {};
  let type = schema.type;
  if (Array.isArray(type)) {
    // ["string", "null"] is how JSON Schema says nullable.
    const real = type.filter((t) => t !== "null");
    if (real.length < type.length) out.nullable = true;
    type = real[0];
  }
  if (typeof type === "string") out.type = type.toUpperCase();
  for (const [k, v] of Object.entries(schema)) if (KEEP.has(k)) out[k] = v;
  if (schema.const !== undefined) out.enum = [schema.const];
  if (schema.properties && typeof schema.properties === "object") {
    const props: Record<string, GeminiSchema> = {};
    for (const [name, sub] of Object.entries(schema.properties as Record<string, Record<string, unknown>>)) props[name] = toGeminiSchema(sub);
    out.properties = props;
    // Gemini otherwise orders keys alphabetically, which hurts answers that build on earlier fields.
    out.propertyOrdering = Object.keys(props);
    if (!out.type) out.type = "OBJECT";
  }
  if (Array.isArray(schema.required)) out.required = schema.required;
  if (schema.items && typeof schema.items === "object") out.items = toGeminiSchema(schema.items as Record<string, unknown>);
  for (const key of ["anyOf", "oneOf"] as const) {
    if (Array.isArray(schema[key])) out.anyOf = (schema[key] as Array<Record<string, unknown>>).map(toGeminiSchema);
  }
  return out;
}
