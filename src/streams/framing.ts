// How records become bytes in an output file: NDJSON lines, or a JSON array written as a stream
// ("[\n", items joined by ",\n", "\n]\n" written only on completion, so a resumed run can append).
export type OutputFormat = "ndjson" | "json-array";

export interface Framing {
  /** Bytes before the first record. */
  header: string;
  /** Bytes for one record; `index` is its position among all records of the output. */
  record(value: unknown, index: number): string;
  /** Bytes after the last record, written only when the run completes. */
  footer(records: number): string;
}

export function framing(format: OutputFormat, indent = 2): Framing {
  if (format === "ndjson") {
    return { header: "", record: (v) => JSON.stringify(v) + "\n", footer: () => "" };
  }
  // Same bytes as JSON.stringify(array, null, indent) + "\n" for a non-empty array.
  const pad = " ".repeat(indent);
  const item = indent > 0
    ? (v: unknown) => pad + JSON.stringify(v, null, indent).replaceAll("\n", "\n" + pad)
    : (v: unknown) => JSON.stringify(v);
  return {
    header: "[\n",
    record: (v, index) => (index === 0 ? "" : ",\n") + item(v),
    footer: (records) => (records === 0 ? "]\n" : "\n]\n"),
  };
}
