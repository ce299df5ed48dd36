// A fault-injecting OpenAI-compatible upstream for the load benchmark: answers like the real
// API, except that FAULT_RATE of the requests fail (500, 503, 429, reset before headers, or a
// hang longer than triage's first-byte timeout), chosen at random. Usage: node fake.mjs PORT RATE
import http from "node:http";

const port = Number(process.argv[2]);
const rate = Number(process.argv[3] ?? 0.2);
const body = JSON.stringify({
  id: "chatcmpl-load", object: "chat.completion", created: 1700000000, model: "gemma-4-31b",
  choices: [{ index: 0, message: { role: "assistant", content: "Hamlet avenges his father and nearly everyone dies." }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 31, completion_tokens: 12, total_tokens: 43 },
});
const counts = { ok: 0, s500: 0, s503: 0, s429: 0, reset: 0, hang: 0 };
http
  .createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const r = Math.random();
      if (r >= rate) {
        counts.ok++;
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(body);
      }
      const f = r / rate; // uniform in [0, 1) among faults
      const err = (code, extra = {}) => {
        res.writeHead(code, { "content-type": "application/json", ...extra });
        res.end(JSON.stringify({ error: { message: `injected ${code}`, type: "server_error", param: null, code: null } }));
      };
      if (f < 0.35) return counts.s500++, err(500);
      if (f < 0.6) return counts.s503++, err(503);
      if (f < 0.8) return counts.s429++, err(429, { "retry-after": "1" });
      if (f < 0.9) return counts.reset++, req.socket.destroy();
      counts.hang++;
      setTimeout(() => (res.destroyed ? null : err(500)), 400); // longer than first_byte_ms
    });
  })
  .listen(port, "127.0.0.1");
process.on("SIGTERM", () => {
  console.log(JSON.stringify(counts));
  process.exit(0);
});
