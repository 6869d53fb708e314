// The auditor's console in a real browser: Debian's Chromium driven by
// playwright-core (pointed at /usr/bin/chromium; nothing is downloaded).
//
//   node console.test.mjs CONSOLE_URL DEMO_DIR OUTPUT_DIR
//
// Runs against the consortium `scripts/demo.sh --keep` leaves running: clicks
// through members → a member → jobs → the PSI job → its timeline, checks Bank
// A's PSI result against its on-chain commitment in the page (the real file,
// then an altered one), switches to Chinese, opens a malformed deep link, and
// saves a screenshot of each page in OUTPUT_DIR. Prints one JSON line with the
// job page's first render time. Exits non-zero on the first failed check.
import { expect, open } from "./harness.mjs";

const [base, demo, out] = process.argv.slice(2);
if (!base || !demo || !out) {
  console.error("usage: node console.test.mjs CONSOLE_URL DEMO_DIR OUTPUT_DIR");
  process.exit(2);
}
const { browser, page, check, shot, failures } = await open(out);
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e}`));
page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });


await check("overview shows the chain and live block", async () => {
  await page.goto(`${base}/`);
  await page.waitForSelector("#main h2");
  await page.waitForFunction(() => /\d/.test(document.querySelector("#live").dataset.block || ""));
  expect((await page.textContent("#main")).includes("31337"), "chain id 31337 on the overview");
  await shot("overview");
});

await check("members list and a member's history", async () => {
  await page.click("nav >> text=Members");
  await page.waitForSelector("#main table");
  expect(await page.isVisible("text=Bank A"), "Bank A listed");
  await shot("members");
  await page.click("#main table a[title='0x90F79bf6EB2c4f870365E785982E1f101E93b906'] >> nth=0");
  await page.waitForSelector("h3");
  const text = await page.textContent("#main");
  expect(text.includes("MemberApplied") && text.includes("ProposalVoted"), "application and votes in the history");
  await shot("member");
});

let renderMs = null;
await check("jobs list, the PSI job and its timeline", async () => {
  await page.click("nav >> text=Jobs");
  await page.waitForSelector("#main table");
  await shot("jobs");
  const started = Date.now();
  await page.click("#main table >> a:text-is('#1')");
  await page.waitForSelector("h2:has-text('Job #1')");
  renderMs = Date.now() - started;
  const text = await page.textContent("#main");
  for (const e of ["JobProposed", "JobApprovalGiven", "JobApproved", "JobStarted", "JobParticipantCompleted", "JobCompleted"]) {
    expect(text.includes(e), `${e} in the timeline`);
  }
  expect(page.url().endsWith("#/jobs/1"), "deep link in the address bar");
  // The nodes report with operator keys: named after their member.
  expect(text.includes("Bank A's node") && text.includes("Bank B's node"), "operator keys named after their member");
  expect(await page.isVisible("#main table time[datetime]"), "block times shown in local time");
  await shot("job");
});

await check("a result checked against its commitment in the browser", async () => {
  await page.selectOption("#v-participant", "0x90F79bf6EB2c4f870365E785982E1f101E93b906");
  await page.setInputFiles("#v-artifact", `${demo}/bank-a-result.csv`);
  await page.setInputFiles("#v-key", `${demo}/bank-a-result.key`);
  await page.click(".verify button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#v-result").className === "ok");
  await shot("verify-match");
  await page.setInputFiles("#v-artifact", { name: "altered.csv", mimeType: "text/csv", buffer: Buffer.from("id\nnot-the-result\n") });
  await page.click(".verify button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#v-result").className === "bad");
  await shot("verify-altered");
});

await check("Chinese labels", async () => {
  await page.click("#lang");
  await page.waitForSelector("h3:has-text('时间线')");
  expect((await page.getAttribute("html", "lang")) === "zh-CN", "document language follows");
  await shot("job-zh");
  await page.click("#lang");
  await page.waitForSelector("h3:has-text('Timeline')");
});

await check("keyboard: skip link and focus on navigation", async () => {
  await page.goto(`${base}/#/events`);
  await page.reload();
  await page.waitForSelector("#main table");
  await page.keyboard.press("Tab");
  expect((await page.evaluate(() => document.activeElement.className)) === "skip", "first Tab reaches the skip link");
  await shot("events");
});

await check("no script errors", async () => {
  expect(problems.length === 0, problems.join("; "));
});

// The API answers the next pages with 400/404, which the browser logs.
await check("a malformed deep link says what is wrong", async () => {
  // Hash changes re-render in place: wait for each page's own message, not
  // for the previous page's alert.
  await page.goto(`${base}/#/jobs/not-a-number`);
  await page.waitForSelector("#main [role=alert]:has-text('does not name a page')", { timeout: 10000 });
  await page.goto(`${base}/#/members/0x00000000000000000000000000000000000000aa`);
  await page.waitForSelector("#main [role=alert]:has-text('no event on chain')", { timeout: 10000 });
  await shot("bad-link");
});

await browser.close();
console.log(JSON.stringify({ bench: "console", case: "job-page-first-render", ms: renderMs, events: null, note: "demo consortium (6 jobs); Debian chromium headless" }));
process.exit(failures() ? 1 : 0);
