// Where the Ollama server is: OLLAMA_HOST as the ollama CLI reads it (host, host:port or a URL), default 127.0.0.1:11434.
export const DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434";

export function ollamaBaseUrl(value: string | undefined = process.env.OLLAMA_HOST): string {
  let v = (value ?? "").trim();
  if (!v) return DEFAULT_OLLAMA_HOST;
  if (!/^[a-z]+:\/\//i.test(v)) v = `http://${v}`;
  const url = new URL(v);
  // The server listens on 0.0.0.0 but a client must dial a real address.
  if (url.hostname === "0.0.0.0") url.hostname = "127.0.0.1";
  if (!url.port && url.protocol === "http:" && !/:\d+$/.test(v)) url.port = "11434";
  return url.toString().replace(/\/+$/, "");
}
