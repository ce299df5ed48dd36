// Fires N requests at once at triage (model "auto") and reports how long the last one took
// and how many answered 200. Usage: node client.mjs URL N
const [url, n] = [process.argv[2], Number(process.argv[3])];
const body = JSON.stringify({ model: "auto", messages: [{ role: "user", content: "Queue me." }] });
const t0 = performance.now();
const statuses = await Promise.all(
  Array.from({ length: n }, () =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
      async (r) => (await r.arrayBuffer(), r.status),
    ),
  ),
);
const ms = performance.now() - t0;
const counts = {};
for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
console.log(`RESULT wall_ms=${ms.toFixed(1)} ok=${counts[200] ?? 0} statuses=${JSON.stringify(counts)}`);
