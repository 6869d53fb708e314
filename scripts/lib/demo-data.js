// Generates the demo's two bank tables (deterministic, seeded): Bank A holds
// the fraud label and transaction features, Bank B credit features. The
// label depends on both banks' features, so a joint model beats Bank A's
// features alone.
//
// Usage: node scripts/lib/demo-data.js ROWS B_ROWS OVERLAP OUT_A OUT_B
"use strict";
const fs = require("fs");
const [rows, bRows, overlap] = process.argv.slice(2, 5).map(Number);
const [outA, outB] = process.argv.slice(5, 7);
if (![rows, bRows, overlap].every(Number.isInteger) || !outA || !outB) {
  console.error("usage: demo-data.js ROWS B_ROWS OVERLAP OUT_A OUT_B");
  process.exit(2);
}

// mulberry32: a small seeded generator, enough for demo data.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const normal = (r) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

// One customer's features on both sides, derived from the id alone so both
// banks describe the same person consistently.
function customer(i) {
  const r = rng(i * 2654435761 + 12345);
  const a = [normal(r), normal(r), normal(r), normal(r)];
  const b = [normal(r), normal(r), normal(r), normal(r)];
  const u = -2.8 + 0.9 * a[0] + 0.6 * a[1] - 0.5 * a[2] + 1.1 * b[0] + 0.8 * b[1] - 0.7 * b[2] + 0.6 * normal(r);
  const fraud = r() < 1 / (1 + Math.exp(-u)) ? 1 : 0;
  return {
    a: [
      (20 + 6 * a[0]).toFixed(0), // transactions in the last 30 days
      (850 + 300 * a[1]).toFixed(2), // average amount
      Math.min(1, Math.max(0, 0.3 + 0.1 * a[2])).toFixed(3), // share of night transactions
      (1500 + 600 * a[3]).toFixed(0), // account age in days
    ],
    b: [
      Math.min(1.5, Math.max(0, 0.45 + 0.2 * b[0])).toFixed(3), // credit utilisation
      Math.max(0, 1 + b[1]).toFixed(0), // overdue payments in 12 months
      (25 + 8 * b[2]).toFixed(0), // app logins per month
      Math.max(0, 1 + b[3]).toFixed(0), // device changes
    ],
    fraud,
  };
}

const id = (i) => "cust-" + String(i).padStart(9, "0");
const a = ["customer_id,is_fraud,txn_30d,avg_amount,night_ratio,account_age_days"];
for (let i = 0; i < rows; i++) {
  const c = customer(i);
  a.push([id(i), c.fraud, ...c.a].join(","));
}
const b = ["customer_id,credit_utilisation,overdue_12m,app_logins,device_changes"];
for (let i = rows - overlap; i < rows - overlap + bRows; i++) b.push([id(i), ...customer(i).b].join(","));
fs.writeFileSync(outA, a.join("\n") + "\n");
fs.writeFileSync(outB, b.join("\n") + "\n");
