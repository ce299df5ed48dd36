// A fault-injecting fake upstream speaking the OpenAI wire format: every request it receives
// gets the configured fault. The faults are the ways real upstreams fail.
import http from "node:http";
import { chunk, completion, openaiError } from "./fake_openai.mjs";
import { message, anthropicError } from "./fake_anthropic.mjs";

export const FAULTS = [
  "status_500", "status_502", "status_503", "status_529", "status_429_retry_after",
  "connection_refused", "reset_before_headers", "reset_mid_body", "hang_before_headers",
  "hang_mid_stream", "slow_drip", "malformed_json", "truncated_sse", "wrong_content_type",
  "oversized_response",
];

// Faults that strike after the first content of a stream has gone out: no fallback is
// possible any more, the client must get a well-formed error event instead of a clean end.
export const AFTER_CONTENT = new Set(["reset_mid_body", "hang_mid_stream", "truncated_sse"]);

// The wire shapes of one dialect: error bodies, the first events of a stream (through the
// first content), and a complete non-streaming answer.
const SHAPES = {
  openai: {
    error: (code) => openaiError(code, `injected ${code}`),
    head: (model) => [`data: ${JSON.stringify(chunk(model, { role: "assistant", content: "" }))}\n\n`,
                      `data: ${JSON.stringify(chunk(model, { content: "partial" }))}\n\n`],
    answer: (model, text) => completion({ model, text }),
    bigEvent: (model, filler) => `data: ${JSON.stringify(chunk(model, { role: "assistant", content: filler }))}\n\n`,
    malformed: "data: {this is not json\n\n",
  },
  anthropic: {
    error: (code) => anthropicError(code === 529 ? "overloaded_error" : code === 429 ? "rate_limit_error" : "api_error", `injected ${code}`),
    head: (model) => [
      `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message: message({ model, content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } }) })}\n\n`,
      `event: content_block_start\ndata: ${JSON.stringify({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })}\n\n` +
      `event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "partial" } })}\n\n`],
    answer: (model, text) => message({ model, content: [{ type: "text", text: text ?? "x" }] }),
    bigEvent: (model, filler) => `event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: filler } })}\n\n`,
    malformed: "event: message_start\ndata: {this is not json\n\n",
  },
};

async function misbehave(fault, req, res, body, dialect) {
  const model = body.model || "m";
  const stream = !!body.stream;
  const shape = SHAPES[dialect];
  const status = (code, headers = {}) => {
    res.writeHead(code, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(shape.error(code)));
  };
  switch (fault) {
    case "status_500": return status(500);
    case "status_502": return status(502);
    case "status_503": return status(503);
    case "status_529": return status(529);
    case "status_429_retry_after": return status(429, { "retry-after": "1" });
    case "reset_before_headers": return req.socket.destroy();
    case "hang_before_headers": return; // never answers
    case "reset_mid_body":
      if (stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const e of shape.head(model)) res.write(e);
        setTimeout(() => req.socket.destroy(), 50);
      } else {
        res.writeHead(200, { "content-type": "application/json", "content-length": "5000" });
        res.write('{"id":"x","choices":[');
        setTimeout(() => req.socket.destroy(), 50);
      }
      return;
    case "hang_mid_stream":
      if (stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const e of shape.head(model)) res.write(e);
      } else {
        res.writeHead(200, { "content-type": "application/json", "content-length": "5000" });
        res.write('{"id":"x","choices":[');
      }
      return; // and hangs
    case "slow_drip": {
      // Headers at once, then a byte now and then: slower than the idle timeout.
      res.writeHead(200, { "content-type": stream ? "text/event-stream" : "application/json" });
      const bytes = stream ? ": keep-alive\n\n" : JSON.stringify(shape.answer(model));
      let i = 0;
      const timer = setInterval(() => {
        if (i >= bytes.length || res.destroyed) return clearInterval(timer);
        res.write(bytes[i++]);
      }, 400);
      res.on("close", () => clearInterval(timer));
      return;
    }
    case "malformed_json":
      if (stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(shape.malformed);
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"choices": [');
      }
      return;
    case "truncated_sse":
      if (stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const e of shape.head(model)) res.write(e);
        res.end(); // a clean HTTP end, but no finish / [DONE] / message_stop
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(shape.answer(model)).slice(0, 40));
      }
      return;
    case "wrong_content_type":
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><body>Bad gateway page from a proxy</body></html>");
      return;
    case "oversized_response": {
      const filler = "x".repeat(2 * 1024 * 1024);
      if (stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(shape.bigEvent(model, filler));
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(shape.answer(model, filler)));
      }
      return;
    }
    default:
      throw new Error(`unknown fault ${fault}`);
  }
}

export async function startFaultyUpstream(dialect = "openai") {
  const f = { fault: "status_500", requests: 0, sockets: new Set(), dialect };
  f.server = http.createServer((req, res) => {
    let data = "";
    req.setEncoding("utf8").on("data", (d) => (data += d)); // decoded whole: a character may span two chunks
    req.on("end", () => {
      f.requests++;
      let body = {};
      try {
        body = JSON.parse(data);
      } catch {}
      misbehave(f.fault, req, res, body, f.dialect).catch(() => req.socket.destroy());
    });
  });
  f.server.on("connection", (s) => {
    f.sockets.add(s);
    s.on("close", () => f.sockets.delete(s));
  });
  await new Promise((r) => f.server.listen(0, "127.0.0.1", r));
  f.url = `http://127.0.0.1:${f.server.address().port}/v1`;
  f.close = () => {
    for (const s of f.sockets) s.destroy();
    return new Promise((r) => f.server.close(r));
  };
  return f;
}
