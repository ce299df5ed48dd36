// Compares the token counts of triage's POST /v1/messages/count_tokens (an estimate: ceil(chars / 4)
// + 3 per message + 3) with OpenAI's real tokenizers (o200k_base: gpt-4o, gpt-5; cl100k_base:
// gpt-4), both counting the same one-message chat with its framing. Usage (run.sh does this):
//   node compare.mjs http://127.0.0.1:PORT FILE.jsonl [FILE.jsonl ...]
// Two corpora from the outcome files: each query's prompt (its messages), and each recorded model
// answer sent as one user message (English prose and worked arithmetic, like real answers).
import { readFileSync } from 'node:fs';
import * as o200k from 'gpt-tokenizer/encoding/o200k_base';
import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base';

const [base, ...files] = process.argv.slice(2);
if (!base || files.length === 0) {
  console.error('usage: node compare.mjs BASE_URL FILE.jsonl [FILE.jsonl ...]');
  process.exit(2);
}

const prompts = [];
const answers = [];
for (const f of files) {
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const q = JSON.parse(line);
    prompts.push(q.messages);
    for (const o of Object.values(q.outcomes ?? {}))
      if (typeof o.response === 'string' && o.response.trim())
        answers.push([{ role: 'user', content: o.response }]);
  }
}

async function estimate(messages) {
  const r = await fetch(`${base}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'auto', messages }),
  });
  if (r.status !== 200) throw new Error(`count_tokens answered ${r.status}: ${await r.text()}`);
  return (await r.json()).input_tokens;
}

function quantile(sorted, p) {
  const i = (sorted.length - 1) * p;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (i - lo);
}

async function measure(name, chats) {
  const est = [];
  for (let i = 0; i < chats.length; i += 32)  // 32 requests in flight
    est.push(...(await Promise.all(chats.slice(i, i + 32).map(estimate))));
  for (const [tok, model] of [[o200k, 'gpt-4o'], [cl100k, 'gpt-4']]) {
    const ratios = [];
    let sumEst = 0, sumReal = 0, within = 0;
    chats.forEach((c, i) => {
      const real = tok.encodeChat(c, model).length;
      const r = est[i] / real;
      ratios.push(r);
      sumEst += est[i];
      sumReal += real;
      if (Math.abs(r - 1) <= 0.2) ++within;
    });
    ratios.sort((a, b) => a - b);
    const f = (x) => x.toFixed(3);
    console.log(
        `${name.padEnd(8)} ${String(chats.length).padStart(6)} msgs vs ${model} (${
            model === 'gpt-4' ? 'cl100k_base' : 'o200k_base'}): total ${sumEst} / ${sumReal} = ${
            f(sumEst / sumReal)}, per message p5 ${f(quantile(ratios, 0.05))} median ${
            f(quantile(ratios, 0.5))} p95 ${f(quantile(ratios, 0.95))}, within ±20%: ${
            (100 * within / chats.length).toFixed(1)}%`);
  }
}

await measure('prompts', prompts);
await measure('answers', answers);
