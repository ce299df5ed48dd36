// HTTPS upstreams: certificate verification, SNI and a custom CA file.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { startTriage, config } from "./lib/harness.mjs";
import { completion } from "./lib/fake_openai.mjs";

let dir, server, port, sni;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "triage-tls-"));
  // A private CA and a server certificate for "localhost" signed by it.
  const run = (args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=triage test CA"]);
  run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost"]);
  execFileSync("sh", ["-c", "printf 'subjectAltName=DNS:localhost' > ext.cnf"], { cwd: dir });
  run(["x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf"]);
  server = https.createServer({ key: readFileSync(path.join(dir, "srv.key")), cert: readFileSync(path.join(dir, "srv.pem")) }, (req, res) => {
    sni = req.socket.servername;
    let data = "";
    req.setEncoding("utf8").on("data", (d) => (data += d)); // decoded whole: a character may span two chunks
    req.on("end", () => {
      const body = JSON.parse(data);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(completion({ model: body.model, text: "over TLS" })));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  port = server.address().port;
});
after(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

test("HTTPS upstream verified against a custom CA file, with SNI", async () => {
  const t = await startTriage(config({ tiers: [{ name: "open", deployments: [{ name: "tls", url: `https://localhost:${port}/v1`, catalog: "gemma-4-31b", more: `        ca_file: ${dir}/ca.pem\n` }] }] }));
  try {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "hi" }] });
    assert.equal(r.choices[0].message.content, "over TLS");
    assert.equal(sni, "localhost");
  } finally {
    await t.cleanup();
  }
});

test("an untrusted certificate is refused (502), never silently accepted", async () => {
  const t = await startTriage(config({ tiers: [{ name: "open", deployments: [{ name: "tls", url: `https://localhost:${port}/v1`, catalog: "gemma-4-31b" }] }], extra: "retry: {max_attempts: 1}\n" }));
  try {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "hi" }] }), (e) => {
      assert.equal(e.status, 502);
      assert.match(e.message, /TLS|certificate|handshake/i);
      return true;
    });
  } finally {
    await t.cleanup();
  }
});
