// llama.cpp's loss on training token rows: the exported model's mean −log p(answer token), computed as the trainer
// computes its own (each packed example is its own sequence, positions restarting at 0; only positions with a
// target carry loss). Equal to the trainer's loss on the same rows when the exported file is the trained model.
import { openLlamaRunner } from "../llama-cpp/runner.ts";
import { readTokenRows } from "../train/qa-train-files.ts";

/** llama.cpp's mean −log p(target) over the loss positions of the token rows, each packed example on its own. */
export async function llamaCppLoss(modelPath: string, tokensFile: string): Promise<{ loss: number; tokens: number }> {
  const rows = await readTokenRows(tokensFile);
  const runner = await openLlamaRunner(modelPath);
  let sum = 0, n = 0;
  try {
    for (let r = 0; r < rows.rows; r++) {
      const inputs = rows.inputs(r), targets = rows.targets(r), positions = rows.positions(r);
      for (let s = 0; s < rows.seqLen;) {
        let e = s + 1;
        while (e < rows.seqLen && positions[e] !== 0) e++;
        const seg = Array.from(inputs.subarray(s, e));
        const tg = targets.subarray(s, e);
        if (tg.some((t) => t >= 0)) {
          await runner.nextTokenDistributions(seg, (i, probs) => {
            const t = tg[i]!;
            if (t < 0) return;
            sum += -Math.log(Math.max(probs[t] ?? 0, 1e-30));
            n++;
          });
        }
        s = e;
      }
    }
  } finally {
    await runner.dispose();
  }
  return { loss: sum / n, tokens: n };
}

