// A fake Anthropic Messages upstream: a real HTTP server speaking the Messages wire format
// (message objects, the SSE event sequence with text and tool_use blocks, error bodies incl.
// 529 overloaded_error) that records every request.
import http from "node:http";

export function message({ model, content, stop_reason = "end_turn", usage = { input_tokens: 100, output_tokens: 50 } }) {
  return { id: "msg_fake01", type: "message", role: "assistant", model, content, stop_reason, stop_sequence: null, usage };
}

const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

// The event sequence for `content` blocks; tool inputs stream in small pieces.
export function streamEvents({ model, content, stop_reason = "end_turn", usage = { input_tokens: 100, output_tokens: 50 } }) {
  let out = ev("message_start", { message: { ...message({ model, content: [], stop_reason: null, usage: { input_tokens: usage.input_tokens, output_tokens: 1 } }) } });
  out += ev("ping", {});
  content.forEach((b, index) => {
    if (b.type === "text") {
      out += ev("content_block_start", { index, content_block: { type: "text", text: "" } });
      for (const piece of b.text.match(/.{1,5}/gs) || []) out += ev("content_block_delta", { index, delta: { type: "text_delta", text: piece } });
    } else {
      const block = { type: "tool_use", id: b.id, name: b.name, input: {} };
      if (b.toolset_name) block.toolset_name = b.toolset_name;  // a toolset member's call
      out += ev("content_block_start", { index, content_block: block });
      const json = JSON.stringify(b.input);
      for (let i = 0; i < json.length; i += 3) out += ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: json.slice(i, i + 3) } });
    }
    out += ev("content_block_stop", { index });
  });
  out += ev("message_delta", { delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  out += ev("message_stop", {});
  return out;
}

export function anthropicError(type, message) {
  return { type: "error", error: { type, message } };
}

export async function startFakeAnthropic() {
  const fake = {
    requests: [],
    content: [{ type: "text", text: "Hello from the Anthropic fake." }],
    stop_reason: "end_turn",
    handler: null,
  };
  fake.server = http.createServer((req, res) => {
    let data = "";
    req.setEncoding("utf8").on("data", (d) => (data += d)); // decoded whole: a character may span two chunks
    req.on("end", () => {
      let body = {};
      try {
        body = JSON.parse(data);
      } catch {}
      fake.requests.push({ method: req.method, url: req.url, headers: req.headers, body, raw: data });
      if (fake.handler) return fake.handler(req, res, body);
      if (body.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(streamEvents({ model: body.model, content: fake.content, stop_reason: fake.stop_reason }));
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(message({ model: body.model, content: fake.content, stop_reason: fake.stop_reason })));
      }
    });
  });
  await new Promise((r) => fake.server.listen(0, "127.0.0.1", r));
  fake.url = `http://127.0.0.1:${fake.server.address().port}/v1`;
  fake.close = () => new Promise((r) => fake.server.close(r));
  return fake;
}
