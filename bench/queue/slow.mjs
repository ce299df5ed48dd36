// A slow OpenAI-compatible upstream for the queue benchmark: answers every POST after
// DELAY_MS, and a GET with TOKEN at once (so the harness knows the port is this fake's, not
// another process's). Usage: node slow.mjs PORT DELAY_MS TOKEN
import http from "node:http";

const port = Number(process.argv[2]);
const delay = Number(process.argv[3] ?? 20);
const token = process.argv[4] ?? "";
const body = JSON.stringify({
  id: "chatcmpl-queue", object: "chat.completion", created: 1700000000, model: "gemma-4-31b",
  choices: [{ index: 0, message: { role: "assistant", content: "Done." }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 },
});
http
  .createServer((req, res) => {
    if (req.method === "GET") return res.end(token);
    req.resume();
    req.on("end", () =>
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(body);
      }, delay),
    );
  })
  .listen(port, "127.0.0.1");
