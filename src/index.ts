// Library entry: the same stages the CLI composes, for use in any Node stream program.
export * from "./records.ts";
export { PipelineError } from "./errors.ts";
export { loadSettings, type Settings } from "./config.ts";
export { asTransform, type Stage, type StageContext } from "./streams/as-transform.ts";
export { parseNdjson, stringifyNdjson } from "./streams/ndjson.ts";
export { runStep, composeStages, type RunStepOptions, type StepResult, type StepOutput } from "./streams/run-step.ts";
export { createProgress, type ProgressSink } from "./streams/progress.ts";
