#!/usr/bin/env node
// Deep-state reach of the contracts' invariant handlers (issue 12, item 9).
// Each invariant test's afterInvariant() appends one line per run to
// contracts/invariant-reach/<Test>.log ("completed=1 failed=0 ..."): 1 when the
// run reached that state at least once. This prints, per key, the share of runs
// that reached it and exits 1 when a share is below its minimum, 2 when a log
// is missing or malformed (so an invariant suite that silently stopped reaching
// its deep states fails the build instead of passing vacuously).
//
// Minimums sit well below the lowest shares observed over 6-11 full runs with
// different seeds (64 runs x depth 32 each; observed lows in the comments).
// Usage: node scripts/lib/invariant-reach.js [dir]   (default contracts/invariant-reach)
"use strict";
const fs = require("fs");
const path = require("path");

const MINIMUM = {
  ConsortiumInvariantTest: {
    memberApproved: 0.6, // 0.82
    memberSuspended: 0.7, // 0.89
    memberReinstated: 0.6, // 0.82
    memberRemoved: 0.3, // 0.42
    reapplied: 0.3, // 0.42
    keyRotated: 0.9, // 0.97
    rotationDuringSuspensionVote: 0.4, // 0.56
    caAppointed: 0.3, // 0.48
    caDismissed: 0.3, // 0.45
    adminAdded: 0.55, // 0.73
    adminRemoved: 0.45, // 0.64
    operatorSet: 0.65, // 0.82
    suspendedAfterRotation: 0.3, // 0.44
    withdrawn: 0.3, // 0.45
  },
  CertificateRegistryInvariantTest: {
    issued: 0.9, // 1.00
    revoked: 0.6, // 0.71
    withdrawn: 0.6, // 0.77
    rejected: 0.6, // 0.75
    invalidByDismissal: 0.6, // 0.85
    invalidByRootChange: 0.6, // 0.80
    invalidByMembership: 0.7, // 0.92
    invalidByKeyRotation: 0.5, // 0.74
    requestLimitHit: 0.5, // 0.71
  },
  JobRegistryInvariantTest: {
    completed: 0.7, // 0.89
    failed: 0.6, // 0.75
    timedOut: 0.5, // 0.65
    expired: 0.4, // 0.55
    rejected: 0.5, // 0.69
    cancelled: 0.5, // 0.72
    datasetChangedRefused: 0.4, // 0.57
    operatorReported: 0.8, // 0.95
    failedByInactive: 0.35, // 0.54
  },
};

const dir = process.argv[2] || path.join(__dirname, "..", "..", "contracts", "invariant-reach");
let status = 0;
for (const [test, minimum] of Object.entries(MINIMUM)) {
  const file = path.join(dir, `${test}.log`);
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    console.error(`invariant reach: cannot read ${file}: ${e.message}`);
    status = Math.max(status, 2);
    continue;
  }
  const runs = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (runs.length === 0) {
    console.error(`invariant reach: ${file} has no runs`);
    status = Math.max(status, 2);
    continue;
  }
  const reached = Object.fromEntries(Object.keys(minimum).map((k) => [k, 0]));
  let malformed = null;
  for (const line of runs) {
    const seen = new Set();
    for (const field of line.split(/\s+/)) {
      const m = /^([A-Za-z]+)=([01])$/.exec(field);
      if (!m) {
        malformed = `field "${field}" in "${line}"`;
        break;
      }
      seen.add(m[1]);
      if (m[1] in reached && m[2] === "1") reached[m[1]] += 1;
    }
    const missing = Object.keys(minimum).find((k) => !seen.has(k));
    if (!malformed && missing) malformed = `no "${missing}" in "${line}"`;
    if (malformed) break;
  }
  if (malformed) {
    console.error(`invariant reach: ${file}: malformed ${malformed}`);
    status = Math.max(status, 2);
    continue;
  }
  const parts = [];
  for (const [key, min] of Object.entries(minimum)) {
    const share = reached[key] / runs.length;
    if (share < min) {
      console.error(`invariant reach: ${test}: only ${share.toFixed(2)} of runs reached ${key} (minimum ${min})`);
      status = Math.max(status, 1);
    }
    parts.push(`${key} ${share.toFixed(2)}`);
  }
  console.log(`${test} (${runs.length} runs): ${parts.join(", ")}`);
}
process.exit(status);
