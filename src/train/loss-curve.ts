// The loss curve as CSV (one row per optimizer step) and as a self-contained SVG picture.
import type { EvalRecord, StepRecord } from "./trainer.ts";

export function lossCurveCsv(history: StepRecord[], evals: EvalRecord[]): string {
  const evalAt = new Map(evals.map((e) => [e.step, e.loss]));
  const rows = history.map((h) => [h.step, h.loss.toFixed(6), h.lr.toExponential(4), h.gradNorm.toFixed(6), h.tokens, evalAt.has(h.step) ? evalAt.get(h.step)!.toFixed(6) : ""].join(","));
  return ["step,train_loss,lr,grad_norm,tokens,eval_loss", ...rows].join("\n") + "\n";
}

/** Train loss (blue line) and eval loss (orange dots) against step, with labelled axes. */
export function lossCurveSvg(history: StepRecord[], evals: EvalRecord[], title = "training loss"): string {
  const W = 640, H = 360, L = 56, R = 16, T = 32, B = 40;
  const steps = Math.max(1, history.at(-1)?.step ?? 1);
  const values = [...history.map((h) => h.loss), ...evals.map((e) => e.loss)].filter(Number.isFinite);
  const maxY = values.length ? Math.max(...values) * 1.05 : 1;
  const minY = 0;
  const x = (s: number) => L + ((W - L - R) * s) / steps;
  const y = (v: number) => T + (H - T - B) * (1 - (v - minY) / (maxY - minY || 1));
  const line = history.map((h, i) => `${i ? "L" : "M"}${x(h.step).toFixed(1)},${y(h.loss).toFixed(1)}`).join(" ");
  const ticks = Array.from({ length: 5 }, (_, i) => (maxY * i) / 4);
  const esc = (s: string) => s.replace(/[<&>]/g, (c) => ({ "<": "&lt;", "&": "&amp;", ">": "&gt;" })[c]!);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    ...ticks.map((v) => `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text><line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#ddd"/>`),
    `<text x="${L}" y="${H - B + 16}" text-anchor="middle">0</text><text x="${W - R}" y="${H - B + 16}" text-anchor="end">${steps}</text>`,
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">optimizer step</text>`,
    `<path d="${line}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`,
    ...evals.map((e) => `<circle cx="${x(e.step).toFixed(1)}" cy="${y(e.loss).toFixed(1)}" r="3.5" fill="#ff7f0e"/>`),
    `<text x="${W - R - 4}" y="${T + 12}" text-anchor="end" fill="#1f77b4">train</text>`,
    evals.length ? `<text x="${W - R - 4}" y="${T + 26}" text-anchor="end" fill="#ff7f0e">eval</text>` : "",
    `</svg>`,
  ].join("\n") + "\n";
}
