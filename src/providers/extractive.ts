// The no-LLM backend: stages see client.provider === "extractive" and build Q&A and scores themselves.
import { PipelineError } from "../errors.ts";
import type { Provider } from "./types.ts";

export function extractiveProvider(): Provider {
  return {
    name: "extractive",
    model: "extractive",
    async generate() {
      throw new PipelineError(
        "E_PROVIDER",
        'the extractive backend calls no model: a stage must check `client.provider === "extractive"` and build its output from the text itself',
      );
    },
    async check() {},
  };
}
