// Worker thread that turns PDF bytes into page texts (pdf-parse / pdf.js), so parsing uses more cores.
// Plain JS on purpose: worker threads do not inherit the tsx loader that bin/pipeline registers.
import { parentPort } from "node:worker_threads";
import { PDFParse } from "pdf-parse";

parentPort.on("message", async ({ id, data }) => {
  let parser;
  try {
    parser = new PDFParse({ data });
    const result = await parser.getText();
    parentPort.postMessage({ id, pages: result.pages.map((p) => p.text), total: result.total });
  } catch (error) {
    parentPort.postMessage({ id, error: { name: error?.name ?? "Error", message: error?.message ?? String(error) } });
  } finally {
    await parser?.destroy().catch(() => {});
  }
});
