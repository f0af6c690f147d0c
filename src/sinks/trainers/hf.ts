// Hugging Face datasets: train.jsonl + validation.jsonl under a card whose `configs:` names them
// (https://huggingface.co/docs/hub/datasets-manual-configuration), so load_dataset(folder or repo) finds both splits.
import type { TrainerLayout } from "./targets.ts";

export function hfLayout(): TrainerLayout {
  return { files: [], commands: ["huggingface-cli upload <you>/<dataset-name> . --repo-type dataset", "python -c \"from datasets import load_dataset; print(load_dataset('.'))\""] };
}
