// A fake OpenAI-compatible upstream: a real HTTP server that speaks the Chat Completions wire
// format (JSON and SSE with the final usage chunk, OpenAI error bodies) and records every
// request. Each test scripts its behaviour with `fake.behave(fn)`.
import http from "node:http";

export function completion({ model, text = "Hello from the fake.", usage = { prompt_tokens: 100, completion_tokens: 50 } }) {
  return {
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: 1700000000,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: "stop" }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

export function chunk(model, delta, finish = null) {
  return { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1700000000, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}

export function openaiError(status, message, type = "server_error") {
  return { error: { message, type, param: null, code: null } };
}

export async function startFakeOpenAI() {
  const fake = {
    requests: [],
    sockets: new Set(),
    // Default behaviour: answer like the real API (stream when asked).
    handler: async (req, res, body) => fake.reply(req, res, body, {}),
    behave(fn) {
      fake.handler = fn;
    },
    // Answers one request the way OpenAI does. opts: text, usage, chunks, delayMs, omitUsage.
    async reply(req, res, body, opts) {
      const usage = opts.usage || { prompt_tokens: 100, completion_tokens: 50 };
      if (!body.stream) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(completion({ model: body.model, text: opts.text, usage })));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const parts = opts.chunks || ["Hello", " from", " the", " fake."];
      res.write(`data: ${JSON.stringify(chunk(body.model, { role: "assistant", content: "" }))}\n\n`);
      for (const p of parts) {
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        res.write(`data: ${JSON.stringify(chunk(body.model, { content: p }))}\n\n`);
      }
      res.write(`data: ${JSON.stringify(chunk(body.model, {}, "stop"))}\n\n`);
      if (body.stream_options?.include_usage && !opts.omitUsage) {
        const u = { ...chunk(body.model, {}), choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } };
        res.write(`data: ${JSON.stringify(u)}\n\n`);
      }
      res.end("data: [DONE]\n\n");
    },
    close() {
      for (const s of fake.sockets) s.destroy();
      return new Promise((r) => fake.server.close(r));
    },
  };
  fake.server = http.createServer((req, res) => {
    let data = "";
    req.setEncoding("utf8").on("data", (d) => (data += d)); // decoded whole: a character may span two chunks
    req.on("end", async () => {
      let body = {};
      try {
        body = JSON.parse(data);
      } catch {}
      fake.requests.push({ method: req.method, url: req.url, headers: req.headers, body, raw: data });
      try {
        await fake.handler(req, res, body);
      } catch (e) {
        res.destroy();
      }
    });
  });
  fake.server.on("connection", (s) => {
    fake.sockets.add(s);
    s.on("close", () => fake.sockets.delete(s));
  });
  await new Promise((r) => fake.server.listen(0, "127.0.0.1", r));
  fake.url = `http://127.0.0.1:${fake.server.address().port}/v1`;
  return fake;
}
