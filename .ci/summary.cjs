// Sums the three suite runs' JSON reports into CI's last line, "N passed, N failed".
// A run that executed no test, or whose tenant_id predicate check did not report, is a failure.
const fs = require("node:fs");
const path = require("node:path");
const dir = process.argv[2];
let passed = 0, failed = 0, ok = true;
for (const run of ["node-default", "node-22", "node-24"]) {
  let r = {};
  try { r = JSON.parse(fs.readFileSync(path.join(dir, `${run}.json`), "utf8")); } catch {}
  const total = r.numTotalTests ?? 0;
  if (total === 0) { ok = false; console.log(`${run}: no test ran: counting the run as failed`); }
  console.log(`${run}: ${r.numPassedTests ?? 0} passed, ${r.numFailedTests ?? 0} failed`);
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  // Name each failed test and the first line of its failure, so a failure is diagnosable from the last lines alone.
  for (const file of r.testResults ?? []) {
    const failures = (file.assertionResults ?? []).filter((a) => a.status === "failed");
    if (failures.length === 0 && file.status === "failed") console.log(`${run}: FAILED ${path.relative(process.cwd(), file.name)}: ${String(file.message ?? "").split("\n")[0]}`);
    for (const a of failures) console.log(`${run}: FAILED ${path.relative(process.cwd(), file.name)} > ${a.fullName}: ${String((a.failureMessages ?? [])[0] ?? "").split("\n")[0].slice(0, 300)}`);
  }
  // The global teardown's check (every statement over a tenant table names tenant_id) counts as one test.
  let p = null;
  try { p = JSON.parse(fs.readFileSync(path.join(dir, `${run}-predicates.json`), "utf8")); } catch {}
  if (p && p.violations.length === 0) passed += 1;
  else { failed += 1; console.log(`${run}: tenant_id predicate check ${p ? `found ${p.violations.length} statements without one` : "did not report"}`); }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok ? 0 : 1);
