// A loopback server speaking Ollama's model-creation API (/api/version, /api/blobs, /api/create) the way the real
// server does: blobs are content-addressed and checked, create refuses unknown digests, status streams as NDJSON.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface LoopbackOllama {
  baseUrl: string;
  blobs: Map<string, Buffer>;
  creates: Array<Record<string, any>>;
  requests: string[];
  close(): Promise<void>;
}

export async function startLoopbackOllama(opts: { failCreate?: string } = {}): Promise<LoopbackOllama> {
  const blobs = new Map<string, Buffer>();
  const creates: Array<Record<string, any>> = [];
  const requests: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = req.url ?? "";
    requests.push(`${req.method} ${url}`);
    const json = (status: number, value: unknown) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(value)); };
    const blob = /^\/api\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url);
    if (req.method === "GET" && url === "/api/version") return json(200, { version: "0.12.0" });
    if (blob && req.method === "HEAD") { res.writeHead(blobs.has(blob[1]!) ? 200 : 404); return res.end(); }
    if (blob && req.method === "POST") {
      const actual = `sha256:${createHash("sha256").update(body).digest("hex")}`;
      if (actual !== blob[1]) return json(400, { error: "digest mismatch" });
      blobs.set(actual, body);
      res.writeHead(201);
      return res.end();
    }
    if (req.method === "POST" && url === "/api/create") {
      const r = JSON.parse(body.toString("utf8"));
      creates.push(r);
      for (const [name, digest] of Object.entries({ ...(r.files ?? {}), ...(r.adapters ?? {}) })) {
        if (!blobs.has(digest as string)) return json(400, { error: `blob ${digest} for ${name} not found` });
      }
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write(JSON.stringify({ status: "parsing GGUF" }) + "\n");
      if (opts.failCreate) return res.end(JSON.stringify({ error: opts.failCreate }) + "\n");
      res.write(JSON.stringify({ status: "using existing layer sha256:" + "0".repeat(64) }) + "\n");
      res.write(JSON.stringify({ status: "writing manifest" }) + "\n");
      return res.end(JSON.stringify({ status: "success" }) + "\n");
    }
    json(404, { error: "not found" });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}`, blobs, creates, requests, close: () => new Promise((ok) => server.close(() => ok())) };
}
