// Request checks of the Messages API that a translated request can break, with the messages the
// real API answers (seen in public bug reports of Anthropic clients and proxies):
//   "messages: text content blocks must be non-empty"                      (a text block "")
//   "messages: text content blocks must contain non-whitespace text"       (a message, or a
//       tool_result, whose only text is whitespace; " " next to real text is accepted)
//   "messages: messages must have at least one element"                    (only system turns)
//   "tools.N.custom.input_schema.type: Field required"
//   "tools.N.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'"
//   "tool_choice.tool.name: Field required"
// Returns the error message, or null when the body passes. Not a full validator: only what
// these tests need, so that a fake refuses what the real API refuses.
function checkText(blocks, path) {
  if (!Array.isArray(blocks)) return null;
  const texts = blocks.filter((b) => b?.type === "text");
  if (texts.some((b) => b.text === "")) return `${path}: text content blocks must be non-empty`;
  if (texts.length && texts.every((b) => b.text.trim() === ""))
    return `${path}: text content blocks must contain non-whitespace text`;
  for (const b of blocks)
    if (b?.type === "tool_result") {
      const e = checkText(b.content, path);
      if (e) return e;
    }
  return null;
}

export function messagesRequestError(body) {
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "messages: messages must have at least one element";
  if (typeof body.max_tokens !== "number") return "max_tokens: Field required";
  for (const m of body.messages) {
    if (typeof m.content === "string") {
      if (m.content === "") return "messages: text content blocks must be non-empty";
      if (m.content.trim() === "") return "messages: text content blocks must contain non-whitespace text";
    } else {
      const e = checkText(m.content, "messages");
      if (e) return e;
    }
  }
  for (const [i, t] of (body.tools || []).entries()) {
    if (t.type && t.type !== "custom") continue;  // server tools
    if (typeof t.name !== "string" || !/^[a-zA-Z0-9_-]{1,128}$/.test(t.name))
      return `tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`;
    if (!t.input_schema || typeof t.input_schema !== "object") return `tools.${i}.custom.input_schema: Field required`;
    if (t.input_schema.type === undefined) return `tools.${i}.custom.input_schema.type: Field required`;
  }
  if (body.tool_choice?.type === "tool" && !body.tool_choice.name) return "tool_choice.tool.name: Field required";
  return null;
}
