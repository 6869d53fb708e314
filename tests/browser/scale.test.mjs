// The auditor's console on a large consortium: first render of a job page
// with 1 000 jobs and about 10 000 events on chain, in Debian's Chromium.
//
//   node scale.test.mjs CONSOLE_URL RPC_URL CHAIN_CONFIG CAST_BIN MEMBER MEMBER [MEMBER…]
//
// Adds JOBS (env WEFE_SCALE_JOBS, 1 000 by default) jobs to the demo's chain
// — run it once the demo's nodes are stopped, or they would launch them. The
// members are anvil's unlocked development accounts (the demo's banks and
// regulator); every job is proposed, approved, started and completed by its
// participants themselves (2 or 3 of them, alternately), which is 9 or 12
// events a job. Transactions go in JSON-RPC batches with anvil's automine off,
// a few blocks a phase. Then it waits until the console has indexed them,
// opens a job page and the jobs list in a fresh tab and prints one JSON line
// per page with its first render time (navigation start to the page's
// heading with its timeline); the target is ≤ 1 s.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [consoleUrl, rpcUrl, chainConfig, cast, ...members] = process.argv.slice(2);
if (!consoleUrl || !rpcUrl || !chainConfig || !cast || members.length < 3) {
  console.error("usage: node scale.test.mjs CONSOLE_URL RPC_URL CHAIN_CONFIG CAST_BIN MEMBER MEMBER MEMBER");
  process.exit(2);
}
const jobs = parseInt(process.env.WEFE_SCALE_JOBS || "1000", 10);
const registry = /job_registry\s*=\s*"(0x[0-9a-fA-F]{40})"/.exec(readFileSync(chainConfig, "utf8"))?.[1];
if (!registry) throw new Error(`no job_registry in ${chainConfig}`);

let rpcId = 0;
async function rpc(calls) {
  const body = calls.map(([method, params]) => ({ jsonrpc: "2.0", id: ++rpcId, method, params }));
  const res = await fetch(rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const answers = await res.json();
  for (const a of answers) if (a.error) throw new Error(`${rpcUrl}: ${JSON.stringify(a.error)}`);
  return answers.sort((x, y) => x.id - y.id).map((a) => a.result);
}
const one = async (method, params = []) => (await rpc([[method, params]]))[0];
const word = (n) => BigInt(n).toString(16).padStart(64, "0");
const sig = (text) => execFileSync(cast, ["sig", text], { encoding: "utf8" }).trim();

// Sends every transaction of a phase (each sender's nonces counted here: a
// batch's requests are not numbered in order by the node), then mines until
// none is pending.
async function phase(txs) {
  const senders = [...new Set(txs.map((tx) => tx.from))];
  const counts = await rpc(senders.map((s) => ["eth_getTransactionCount", [s, "pending"]]));
  const nonce = new Map(senders.map((s, i) => [s, BigInt(counts[i])]));
  const numbered = txs.map((tx) => {
    const n = nonce.get(tx.from);
    nonce.set(tx.from, n + 1n);
    return { ...tx, to: registry, gas: "0x1e8480", nonce: `0x${n.toString(16)}` };
  });
  for (let i = 0; i < numbered.length; i += 250) {
    await rpc(numbered.slice(i, i + 250).map((tx) => ["eth_sendTransaction", [tx]]));
  }
  for (let i = 0; i < 200; i++) {
    await one("evm_mine");
    const pool = await one("txpool_status");
    if (parseInt(pool.pending, 16) === 0) return;
  }
  throw new Error("transactions still pending after 200 blocks");
}

async function populate() {
  const count = BigInt(await one("eth_call", [{ to: registry, data: sig("jobCount()") }, "latest"]));
  const head = parseInt(await one("eth_blockNumber"), 16);
  const proposals = [2, 3].map((n) => execFileSync(cast, ["calldata",
    "propose(string,address[],(address,bytes32)[],string,uint64,uint64)", "psi", `[${members.slice(0, n).join(",")}]`, "[]",
    '{"protocol":"ecdh","reveal":"both","purpose":"scale test"}', String(head + 5000), "5000"], { encoding: "utf8" }).trim());
  const [approve, started, completed] = [sig("approve(uint256)"), sig("reportStarted(uint256)"),
    sig("reportCompleted(uint256,bytes32,string)")];
  const list = Array.from({ length: jobs }, (_, i) => ({ id: count + BigInt(i + 1), parties: members.slice(0, 2 + (i % 2)) }));
  await one("evm_setAutomine", [false]);
  try {
    await phase(list.map((j) => ({ from: members[0], data: proposals[j.parties.length - 2] })));
    const each = (data) => list.flatMap((j) => j.parties.map((p) => ({ from: p, data: data(j, p) })));
    await phase(each((j) => approve + word(j.id)));
    await phase(each((j) => started + word(j.id)));
    await phase(each((j, p) => completed + word(j.id) + word(BigInt(`0x${p.slice(2, 18)}`) + j.id) + word(0x60) + word(0)));
  } finally {
    await one("evm_setAutomine", [true]);
  }
  const last = count + BigInt(jobs);
  const status = await one("eth_call", [{ to: registry, data: sig("jobStatus(uint256)") + word(last) }, "latest"]);
  return { first: count + 1n, last, status: parseInt(status, 16), head: parseInt(await one("eth_blockNumber"), 16) };
}

const started = Date.now();
const made = await populate();
console.log(JSON.stringify({ case: "scale-populate", jobs, seconds: (Date.now() - started) / 1000, last_job: Number(made.last), head: made.head }));

let failures = 0;
const browser = await chromium.launch({ executablePath: process.env.WEFE_CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  // The console indexes the new blocks (it follows the head).
  const deadline = Date.now() + 180000;
  let status;
  for (;;) {
    status = await (await fetch(`${consoleUrl}/api/status`)).json();
    if (status.indexed_block >= made.head) break;
    if (Date.now() > deadline) throw new Error(`the console indexed up to ${status.indexed_block}, not ${made.head}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const jobCount = (await (await fetch(`${consoleUrl}/api/jobs`)).json()).jobs.length;
  const events = status.events;
  const middle = Number(made.first) + Math.floor(jobs / 2);
  for (const [name, hash, ready] of [
    ["console-job-page", `#/jobs/${middle}`, `h2:has-text('Job #${middle}')`],
    ["console-jobs-list", "#/jobs", "#main table tbody tr"],
  ]) {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await page.goto(`${consoleUrl}/${hash}`);
    await page.waitForSelector(ready, { timeout: 30000 });
    if (name === "console-job-page") await page.waitForSelector("#main table time");
    // render() stamps the time its content went in (ms since navigation start).
    const ms = await page.evaluate(() => Math.round(Number(document.getElementById("main").dataset.renderedAt)));
    const rows = await page.$$eval("#main table tbody tr", (r) => r.length);
    console.log(JSON.stringify({ case: name, jobs: jobCount, events, first_render_ms: ms, rows, target_ms: 1000 }));
    const ok = ms <= 1000;
    console.log(`${ok ? "ok  " : "FAIL"} ${name} renders within 1 s with ${jobCount} jobs and ${events} events (${ms} ms)`);
    if (!ok) failures++;
    await page.close();
  }
  const ok = jobCount >= 1000 && events >= 10000;
  console.log(`${ok ? "ok  " : "FAIL"} the consortium has ${jobCount} jobs (≥ 1 000) and ${events} events (≥ 10 000)`);
  if (!ok) failures++;
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
