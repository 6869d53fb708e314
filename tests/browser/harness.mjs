// What the browser tests share: Debian's Chromium through playwright-core
// (pointed at /usr/bin/chromium, or WEFE_CHROMIUM; nothing is downloaded),
// named checks that print `ok   NAME` or `FAIL NAME: why` (scripts/test.sh
// counts those lines) and save a screenshot of a failure, and full-page
// screenshots of each page.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

export async function open(out, pageOptions = {}) {
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.WEFE_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 }, ...pageOptions });
  let failures = 0;
  return {
    browser,
    page,
    failures: () => failures,
    async check(name, fn) {
      try {
        await fn();
        console.log(`ok   ${name}`);
      } catch (e) {
        failures++;
        console.log(`FAIL ${name}: ${e.message.split("\n")[0]}`);
        await page.screenshot({ path: `${out}/failed-${name.replace(/\W+/g, "-")}.png` }).catch(() => {});
      }
    },
    shot: (name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true }),
  };
}

export const expect = (cond, what) => { if (!cond) throw new Error(what); };
