// The one tokenizer interface every model's tokenizer implements (contract in load.ts).
export interface Tokenizer {
  encode(text: string, opts?: { bos?: boolean; special?: boolean }): number[];
  decode(ids: readonly number[], opts?: { special?: boolean }): string;
  bos: number;
  eos: number;
  eot?: number;
  vocabSize: number;
  tokenText(id: number): string;
}
