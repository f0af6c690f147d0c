// unsloth: a ready-to-run script (FastLanguageModel + TRL's SFTTrainer) over the chat-format train/valid files.
import type { TrainerLayout, TrainerSettings } from "./targets.ts";

const DOC = "https://docs.unsloth.ai/get-started/fine-tuning-llms-guide (FastLanguageModel.get_peft_model, SFTTrainer/SFTConfig)";

const py = (v: unknown): string => (typeof v === "boolean" ? (v ? "True" : "False") : JSON.stringify(v));

export function unslothLayout(s: TrainerSettings, files: { train: string; valid?: string }): TrainerLayout {
  const dataFiles = files.valid ? `{"train": ${py(files.train)}, "validation": ${py(files.valid)}}` : `{"train": ${py(files.train)}}`;
  const text = [
    "# unsloth LoRA fine-tune written by docs2model: python train_unsloth.py",
    `# ${DOC}`,
    "from unsloth import FastLanguageModel",
    "from datasets import load_dataset",
    "from trl import SFTConfig, SFTTrainer",
    "",
    `model, tokenizer = FastLanguageModel.from_pretrained(model_name=${py(s.baseModel)}, max_seq_length=${s.seqLen}, load_in_4bit=False)`,
    `model = FastLanguageModel.get_peft_model(model, r=${s.rank}, lora_alpha=${s.alpha}, lora_dropout=${s.dropout}, target_modules=${py(s.targets)}, use_gradient_checkpointing="unsloth")`,
    "",
    "# Each line is {\"messages\": [...]}: render it with the base's own chat template.",
    `data = load_dataset("json", data_files=${dataFiles})`,
    "data = data.map(lambda ex: {\"text\": tokenizer.apply_chat_template(ex[\"messages\"], tokenize=False)})",
    "",
    "trainer = SFTTrainer(",
    "    model=model,",
    "    processing_class=tokenizer,",
    "    train_dataset=data[\"train\"],",
    `    eval_dataset=${files.valid ? "data[\"validation\"]" : "None"},`,
    "    args=SFTConfig(",
    "        dataset_text_field=\"text\",",
    `        max_length=${s.seqLen},`,
    `        per_device_train_batch_size=${s.microBatch},`,
    `        gradient_accumulation_steps=${s.gradAccum},`,
    `        num_train_epochs=${s.epochs},`,
    `        learning_rate=${s.lr},`,
    "        lr_scheduler_type=\"cosine\",",
    "        warmup_ratio=0.1,",
    "        logging_steps=10,",
    "        output_dir=\"outputs/docs2model-lora\",",
    "    ),",
    ")",
    "trainer.train()",
    "model.save_pretrained(\"docs2model-lora\")",
    "tokenizer.save_pretrained(\"docs2model-lora\")",
    "",
  ].join("\n");
  return { files: [{ name: "train_unsloth.py", text }], commands: ["python train_unsloth.py"] };
}
