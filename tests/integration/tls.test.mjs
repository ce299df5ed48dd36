// HTTPS upstreams: certificate verification, SNI and a custom CA file.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, openSync, closeSync, constants as fsConstants } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { startTriage, config, repoRoot } from "./lib/harness.mjs";
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

// `serve` reads the CA file and routing.router's model once at start (it used to read both
// twice: once to check them, once to build the gateway). Each is a FIFO here that the test
// writes the file's bytes into once: a second read would find no writer and wait, and the
// gateway would never start.
test("serve reads a deployment's CA file and the router's model once at start", async () => {
  const fifoDir = mkdtempSync(path.join(tmpdir(), "triage-fifo-"));
  const fifos = [];
  const feedOnce = (name, source) => {
    const fifo = path.join(fifoDir, name);
    execFileSync("mkfifo", [fifo]);
    fifos.push(fifo);
    // Opens once a reader opens the FIFO; EPIPE if the reader closes before the end.
    return writeFile(fifo, readFileSync(source)).then(
      () => true,
      (e) => assert.equal(e.code, "EPIPE"),
    );
  };
  const ca = feedOnce("ca.pem", path.join(dir, "ca.pem"));
  const model = feedOnce("cascade.model", path.join(repoRoot, "models/cascade-v3.model"));
  let t;
  try {
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "tls", url: `https://localhost:${port}/v1`, catalog: "gemma-4-31b", more: `        ca_file: ${fifoDir}/ca.pem\n` }] },
          { name: "mid", deployments: [{ name: "never", url: "http://127.0.0.1:1/v1", catalog: "claude-sonnet-4.6" }] },
        ],
        extra: `routing: {router: "cascade:${fifoDir}/cascade.model", thresholds: [1.0]}\n`,
      }),
    );
    assert.deepEqual(await Promise.all([ca, model]), [true, true], "each file was read whole");
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "hi" }] });
    assert.equal(r.choices[0].message.content, "over TLS");
  } finally {
    // A gateway waiting for a second read (or a writer for a first one) is let go: an empty
    // file for the one, a reader that leaves for the other.
    for (const fifo of fifos) {
      for (const flags of [fsConstants.O_WRONLY, fsConstants.O_RDONLY]) {
        try {
          closeSync(openSync(fifo, flags | fsConstants.O_NONBLOCK));
        } catch {}
      }
    }
    if (t) await t.cleanup();
    await Promise.allSettled([ca, model]);
    rmSync(fifoDir, { recursive: true, force: true });
  }
});
