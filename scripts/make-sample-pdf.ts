// Writes data/documents/configuration-guide.pdf, the sample PDF of the project's own documentation,
// with pdfkit. Run: node --import tsx scripts/make-sample-pdf.ts  (the PDF is committed; rerun after edits)
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import PDFDocument from "pdfkit";

const OUT = fileURLToPath(new URL("../data/documents/configuration-guide.pdf", import.meta.url));

const SECTIONS: Array<{ heading: string; paragraphs: string[] }> = [
  {
    heading: "docs2model Configuration Guide",
    paragraphs: [
      "This guide lists every setting of docs2model, the tool that turns a folder of documents into a fine-tuned model for Ollama. Settings can be given as command-line flags, as environment variables, or as lines in a file called config.env in the working directory. A flag wins over an environment variable, an environment variable wins over config.env, and config.env wins over the built-in default.",
      "The file config.env.example in the repository lists every key with a comment. Copy it to config.env and change what you need. Use --config FILE to read a settings file from another place. A malformed value, such as a word where a number is expected, is an error that names the key. An unknown key that starts with PIPELINE_, FINETUNE_ or EXPORT_ is reported as a warning, because it is most likely a typo.",
    ],
  },
  {
    heading: "Folders",
    paragraphs: [
      "PIPELINE_INPUT_DIR is the folder of documents that the chunk step reads. The default is data/documents.",
      "PIPELINE_CHUNKS_DIR is the folder where the chunk step writes chunks.ndjson. The default is data/document_chunks.",
      "PIPELINE_QA_DIR is the folder for training_data.json, validation_report.json and training_data_final.jsonl. The default is data/document_training_data.",
    ],
  },
  {
    heading: "Chunking",
    paragraphs: [
      "PIPELINE_CHUNK_SIZE is the largest chunk in characters. The default is 1500.",
      "PIPELINE_CHUNK_OVERLAP is the number of characters shared by neighbouring chunks. The default is 200, and it must be smaller than the chunk size.",
      "PIPELINE_COMMIT_INTERVAL_MS is how often, in milliseconds, a running step records its progress in the resume ledger. The default is 1000. A smaller value loses less work when a run is killed, at the cost of more disk syncs.",
    ],
  },
  {
    heading: "Language model",
    paragraphs: [
      "PIPELINE_LLM_PROVIDER chooses the provider: openai, claude, gemini, ollama, llama-cpp or extractive. When it is not set, the tool detects one from the available keys and servers and falls back to extractive.",
      "PIPELINE_LLM_MODEL is the model name for the provider, or the path of a GGUF file for llama-cpp. PIPELINE_LLM_BASE_URL points the openai provider at any OpenAI-compatible server.",
      "PIPELINE_QUESTIONS_PER_CHUNK is how many question and answer pairs to ask for per chunk. The default is 3. PIPELINE_TEMPERATURE is the sampling temperature, 0.7 by default.",
      "PIPELINE_CONCURRENCY is the number of requests in flight, 4 by default. PIPELINE_RPM and PIPELINE_TPM limit requests and tokens per minute. PIPELINE_TIMEOUT is the time limit of one request in seconds, 120 by default, and PIPELINE_MAX_RETRIES is the number of retries, 5 by default.",
      "PIPELINE_MAX_COST stops a run cleanly once the estimated spend in US dollars reaches the limit. PIPELINE_CACHE_DIR and PIPELINE_CACHE control the reply cache.",
    ],
  },
  {
    heading: "Validation and formatting",
    paragraphs: [
      "PIPELINE_VALIDATION_THRESHOLD is the overall score from which a pair is PASS. The default is 8.0.",
      "PIPELINE_FILTER_THRESHOLD is the overall score from which a pair is NEEDS_REVIEW rather than FAIL, and the score a pair needs to be kept for training. The default is 7.0.",
      "PIPELINE_FORMAT_TEMPLATE is the training template: alpaca, chatml, sharegpt or openai. The default is alpaca.",
      "PIPELINE_SKIP_BAD_LINES makes every step count and report malformed NDJSON lines instead of stopping at the first one.",
    ],
  },
  {
    heading: "Training",
    paragraphs: [
      "FINETUNE_MODEL_NAME is the base model: a GGUF file, an Ollama model name, an hf: URI, or tiny. The default is tiny, a small llama-family model that the tool creates and trains from scratch, so the offline run needs no download.",
      "FINETUNE_MODEL_TYPE names the chat template family when the base model has none of its own, for example llama3, mistral, chatml or alpaca.",
      "FINETUNE_OUTPUT_DIR is where adapters, checkpoints, the loss curve and the training report are written. The default is fine_tuned_models.",
      "FINETUNE_EPOCHS, FINETUNE_LEARNING_RATE, FINETUNE_LORA_RANK, FINETUNE_BATCH_SIZE and FINETUNE_SEQ_LEN set the number of passes over the data, the learning rate, the rank of the LoRA matrices, the number of sequences per step and the sequence length in tokens. FINETUNE_BACKEND forces a TensorFlow.js backend instead of choosing the fastest available one.",
    ],
  },
  {
    heading: "Export",
    paragraphs: [
      "EXPORT_MODEL_PATH is the trained adapter or model to export. EXPORT_MODEL_NAME is the name the model gets in Ollama.",
      "EXPORT_OUTPUT_DIR is where the merged model, the Modelfile and the model card are written. The default is merged_models.",
      "EXPORT_QUANT is the number format of the exported GGUF: q8_0 (the default), f16 or f32. q8_0 files are about half the size of f16 files with a very small loss of quality.",
    ],
  },
];

const doc = new PDFDocument({ size: "A4", margin: 56, info: { Title: "docs2model Configuration Guide", Author: "docs2model", CreationDate: new Date("2026-01-01T00:00:00Z") } });
const done = new Promise<void>((resolve, reject) => {
  const out = createWriteStream(OUT);
  out.on("finish", resolve);
  out.on("error", reject);
  doc.pipe(out);
});
SECTIONS.forEach((section, i) => {
  if (i > 0 && i % 3 === 0) doc.addPage();
  doc.font("Helvetica-Bold").fontSize(i === 0 ? 18 : 14).text(section.heading).moveDown(0.5);
  for (const p of section.paragraphs) doc.font("Helvetica").fontSize(11).text(p, { align: "left" }).moveDown(0.6);
  doc.moveDown(0.5);
});
doc.end();
await done;
console.error(`wrote ${OUT}`);
