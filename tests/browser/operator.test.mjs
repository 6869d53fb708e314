// The node's operator page in a real browser: Debian's Chromium driven by
// playwright-core (pointed at /usr/bin/chromium; nothing is downloaded).
//
//   node operator.test.mjs BANK_A_NODE_URL BANK_B_NODE_URL DEMO_DIR OUTPUT_DIR WEFE_BIN
//
// Runs against the consortium `scripts/demo.sh --keep` leaves running: signs
// in to Bank A's node (a wrong token first), reads its health (chain, peers),
// uploads a refused CSV and a good one through the page, opens a learning
// job's reports, then has both banks register a larger pair of datasets and
// approve a PSI job on chain (with the `wefe` CLI, from their own keystores)
// and watches the job's progress bar on the page while the nodes run it. It
// saves a screenshot of each page in OUTPUT_DIR, prints one JSON line with the
// progress values seen, and exits non-zero on the first failed check.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, open } from "./harness.mjs";

const [nodeA, nodeB, demo, out, wefe] = process.argv.slice(2);
if (!nodeA || !nodeB || !demo || !out || !wefe) {
  console.error("usage: node operator.test.mjs BANK_A_NODE_URL BANK_B_NODE_URL DEMO_DIR OUTPUT_DIR WEFE_BIN");
  process.exit(2);
}
const rows = parseInt(process.env.WEFE_BROWSER_PSI_ROWS || "60000", 10);
const token = (party) => readFileSync(`${demo}/${party}/data/api-token`, "utf8").trim();

const { browser, page, check, shot, failures } = await open(out, { locale: "en-US" });
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e}`));
// The browser logs every 4xx it gets as a console error; the deliberate ones
// (a wrong token, a refused upload, a job the node has not recorded yet) are
// answers the page shows. Script errors and the node's own faults (5xx) are problems.
page.on("console", (m) => {
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console: ${m.text()}`);
});
page.on("response", (r) => { if (r.status() >= 500) problems.push(`${r.status()} from ${r.url()}`); });


// `wefe` as one of the demo's roles: signed from that role's own keystore.
function as(role, ...args) {
  return execFileSync(wefe, ["--keystore", `${demo}/keys/${role}.json`, "--password-file", `${demo}/keys/password`,
    "--key-password-file", `${demo}/keys/password`, ...args],
  { env: { ...process.env, WEFE_CHAIN_CONFIG: `${demo}/chain.toml` }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
const address = (role) => execFileSync(wefe, ["key", "address", "--keystore", `${demo}/keys/${role}.json`,
  "--password-file", `${demo}/keys/password`], { encoding: "utf8" }).trim();

// Two customer lists of `n` ids each, half of them shared.
function customers(prefix, n, offset) {
  const lines = ["customer_id,score"];
  for (let i = 0; i < n; i++) lines.push(`cust-${String(i + offset).padStart(7, "0")},${(i * 7919) % 1000}`);
  return Buffer.from(lines.join("\n") + "\n");
}

await check("sign-in refuses a wrong token and accepts the node's", async () => {
  await page.goto(`${nodeA}/ui/`);
  await page.waitForSelector("form#sign-in");
  expect(!(await page.isVisible("nav")), "no menu before signing in");
  await shot("node-sign-in");
  await page.fill("#token", "f".repeat(64));
  await page.click("form#sign-in button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#sign-in-result").textContent.length > 0);
  expect((await page.textContent("#sign-in-result")).includes("not the node's token"), "a wrong token is named as such");
  await page.fill("#token", token("bank-a"));
  await page.click("form#sign-in button[type=submit]");
  await page.waitForSelector("h2:text-is('Health')");
  expect(await page.isVisible("nav"), "the menu once signed in");
});

await check("health shows the chain head, the gateway and reachable peers", async () => {
  // The nodes start one after another: a peer that was not up at the first
  // check is checked again within seconds, and the page follows.
  await page.waitForFunction(() => [...document.querySelectorAll("#main table tr")]
    .some((r) => /Bank B/.test(r.textContent) && r.cells[3] && r.cells[3].textContent.trim() === "yes"), null, { timeout: 60000 })
    .catch(async () => { throw new Error(`Bank B's gateway not reachable: ${await page.textContent("#main table")}`); });
  const text = await page.textContent("#main");
  for (const label of ["Chain head", "Lag (blocks)", "Sessions peers hold here", "Peers"]) expect(text.includes(label), `${label} shown`);
  await page.waitForFunction(() => /\d/.test(document.querySelector("#live").dataset.block || ""));
  await shot("node-health");
});

await check("datasets: a refused upload says where, a good one is listed", async () => {
  await page.click("nav >> text=Datasets");
  await page.waitForSelector("form#import");
  expect((await page.textContent("#main table")).includes("bank-a-customers"), "the demo's dataset listed");
  await page.fill("#i-id", "refused-upload");
  await page.fill("#i-column", "customer_id");
  await page.setInputFiles("#i-file", { name: "dup.csv", mimeType: "text/csv", buffer: Buffer.from("customer_id,x\na,1\nb,2\na,3\n") });
  await page.click("form#import button[type=submit]");
  await page.waitForSelector("#i-result.bad");
  const refused = await page.textContent("#i-result");
  expect(/line 4/.test(refused), `the duplicate's line named: ${refused}`);
  await page.fill("#i-id", "big-a");
  await page.fill("#i-column", "customer_id");
  await page.setInputFiles("#i-file", { name: "big-a.csv", mimeType: "text/csv", buffer: customers("a", rows, 0) });
  await page.click("form#import button[type=submit]");
  await page.waitForSelector("#i-result.ok", { timeout: 60000 });
  expect((await page.textContent("#i-result")).includes(`Imported big-a: ${rows} rows`), "the import's outcome");
  const listed = await page.textContent("#main table");
  expect(listed.includes("big-a") && !listed.includes("refused-upload"), "the good file listed, nothing of the refused one");
  await shot("node-datasets");
});

await check("jobs, and a learning job's reports (charts and tables)", async () => {
  await page.click("nav >> text=Jobs");
  await page.waitForSelector("#main table progress");
  expect((await page.$$("#main table tbody tr")).length >= 6, "the demo's six jobs");
  await shot("node-jobs");
  await page.click("#main table tr:has-text('secureboost') >> a >> nth=0");
  await page.waitForSelector("figure.report img");
  await page.waitForFunction(() => [...document.querySelectorAll("figure.report img")].every((i) => i.complete && i.naturalWidth > 0));
  const text = await page.textContent("#main");
  expect(text.includes("Feature importance") && text.includes("Hold-out metrics"), "importance and metrics shown");
  expect(await page.isVisible("figure.report table"), "importance.csv as a table");
  await shot("node-job-secureboost");
  await page.click("nav >> text=Jobs");
  await page.click("#main table tr:has-text('vertical-lr') >> a >> nth=0");
  await page.waitForFunction(() => document.querySelectorAll("figure.report img").length >= 2 &&
    [...document.querySelectorAll("figure.report img")].every((i) => i.complete && i.naturalWidth > 0));
  expect((await page.textContent("#main")).includes("ROC curve"), "the ROC curve");
  await shot("node-job-lr");
});

await check("the progress bar moves while the nodes run a PSI job", async () => {
  // Bank B imports its list through its own node's API (the page does the same call).
  const form = new FormData();
  form.append("id", "big-b");
  form.append("id_column", "customer_id");
  form.append("file", new Blob([customers("b", rows, rows / 2)]), "big-b.csv");
  const res = await fetch(`${nodeB}/datasets`, { method: "POST", body: form, headers: { Authorization: `Bearer ${token("bank-b")}` } });
  expect(res.status === 201, `Bank B's import: ${res.status} ${await res.text()}`);
  for (const [role, id] of [["bank-a", "big-a"], ["bank-b", "big-b"]]) {
    as(role, "dataset", "register", id, "--schema", "customer_id,score", "--rows", String(rows), "--visibility", "public");
  }
  const [a, b] = [address("bank-a"), address("bank-b")];
  const job = JSON.parse(as("bank-a", "job", "propose", "--kind", "psi", "--participant", a, "--participant", b,
    "--dataset", "big-a", "--dataset", "big-b", "--params", '{"protocol":"ecdh","reveal":"both","purpose":"browser test"}',
    "--deadline-blocks", "100", "--run-blocks", "2000", "--json")).job_id;
  await page.goto(`${nodeA}/ui/#/jobs/${job}`);
  as("bank-a", "job", "approve", String(job));
  as("bank-b", "job", "approve", String(job));
  const started = Date.now();
  const seen = [];
  let status = "";
  let midShot = false;
  while (Date.now() - started < 300000) {
    const state = await page.evaluate((id) => {
      const bar = document.querySelector(`progress[data-job="${id}"]`);
      const s = document.querySelector("#main dl .status");
      return { value: bar ? Number(bar.value) : null, status: s ? s.textContent : "" };
    }, job);
    status = state.status;
    if (state.value != null && seen[seen.length - 1] !== state.value) seen.push(state.value);
    if (!midShot && state.value > 20 && state.value < 100) { await shot("node-job-psi-running"); midShot = true; }
    if (status === "completed" || status === "failed") break;
    await page.waitForTimeout(100);
  }
  console.log(JSON.stringify({ case: "operator-psi-progress", job, rows, seconds: (Date.now() - started) / 1000, values: seen }));
  expect(status === "completed", `job ${job} ended ${status}`);
  expect(seen.filter((v) => v > 0 && v < 100).length >= 2, `the bar moved through intermediate values: ${seen}`);
  expect(seen.every((v, i) => i === 0 || v >= seen[i - 1]), `never backwards: ${seen}`);
  expect(seen[seen.length - 1] === 100, "full at the end");
  await shot("node-job-psi-done");
});

await check("Chinese labels", async () => {
  await page.goto(`${nodeA}/ui/#/`);
  await page.click("#lang");
  await page.waitForSelector("h2:text-is('运行状态')");
  expect(await page.isVisible("nav >> text=任务"), "the menu in Chinese");
  await shot("node-health-zh");
  await page.click("#lang");
});

await check("signing out forgets the token", async () => {
  await page.click("#logout");
  await page.waitForSelector("form#sign-in");
  expect(await page.evaluate(() => sessionStorage.length === 0), "nothing left in the tab's storage");
});

await check("no script errors and no server faults", async () => {
  expect(problems.length === 0, problems.join("; "));
});

await browser.close();
if (failures() > 0) {
  console.error(`${failures()} operator page check(s) failed; screenshots in ${out}`);
  process.exit(1);
}
