// The loopback bench servers' answers: one grounded pair per generate-qa prompt, scores per judge prompt.
import type { RecordedRequest } from "../test/fixtures/servers/loopback.ts";

export function benchReply(req: RecordedRequest): string {
  const prompt = req.messages.at(-1)?.content ?? "";
  if (prompt.includes("Score the question-answer pair")) {
    return JSON.stringify({ accuracy: 9, relevance: 9, clarity: 8, completeness: 8, overall: 8.5, reason: "supported by the passage" });
  }
  const passage = /Passage:\n"""\n([\s\S]*?)\n"""/.exec(prompt)?.[1] ?? "";
  const first = passage.split(/(?<=\.)\s/)[0] ?? passage.slice(0, 80);
  const id = /Section (\d+)/.exec(passage)?.[1] ?? String(req.call);
  // Questions differ in more than a number, so the near-duplicate check does not (rightly) merge them.
  // Six words picked by a hash of the section number: two questions share a word or two at most.
  const words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu amber basil cedar dune ember fern grove heath iris jade kelp lotus maple nectar olive pearl quartz reed sage thyme umber vine willow yarrow zinnia acorn birch clover daisy elm flint garnet hazel ivy".split(" ");
  let h = Number(id) * 2654435761 >>> 0;
  const pick: string[] = [];
  for (let i = 0; i < 6; i++) { h = Math.imul(h ^ (h >>> 15), 2246822519) >>> 0; pick.push(words[h % words.length]!); }
  return JSON.stringify({ pairs: [{ question: `Which part of a run does the ${pick.join(" ")} setting control?`, answer: first, evidence: first }] });
}
