/*
 * lib.js: what the three browser test files share — chromium's flags, a
 * list of named tests run in order (one line each, a screenshot hook on
 * failure), and the watcher of everything a page does wrong (console
 * errors and warnings, page errors, failed requests, requests to another
 * host) with each file's expected exceptions.
 */
"use strict";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
  "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];

/* Named tests, run in order by run(). */
function suite() {
  const tests = [];
  return {
    tests,
    test(name, fn) { tests.push({ name, fn }); },
    /* Runs every test; prints "ok"/"FAIL" lines (and the stack); calls
     * onFail(test) after a failure. Returns { passed, failed }. */
    async run(onFail) {
      let passed = 0, failed = 0;
      for (const t of tests) {
        const t0 = Date.now();
        const took = () => ((Date.now() - t0) / 1000).toFixed(2);
        try {
          await t.fn();
          passed++;
          console.log(`ok   ${t.name} (${took()}s)`);
        } catch (e) {
          failed++;
          console.log(`FAIL ${t.name} (${took()}s)`);
          console.log(e && e.stack ? e.stack : String(e));
          if (onFail) await onFail(t).catch(() => {});
        }
      }
      return { passed, failed };
    },
  };
}

/* Collects a page's problems into `problems`. ignore.console(text, where)
 * and ignore.failed(url, errorText) return true for what the caller
 * expects; a 401 of /api/session (not signed in yet, a wrong password) is
 * always expected. */
function watch(page, base, problems, ignore = {}) {
  page.on("console", (m) => {
    if (m.type() !== "error" && m.type() !== "warning") return;
    const where = (m.location() && m.location().url) || "";
    if (/status of 401/.test(m.text()) && /\/api\/session$/.test(where)) return;
    if (ignore.console && ignore.console(m.text(), where)) return;
    problems.push("console " + m.type() + ": " + m.text() + " @ " + where);
  });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("requestfailed", (r) => {
    const why = (r.failure() || {}).errorText;
    if (ignore.failed && ignore.failed(r.url(), why)) return;
    problems.push("request failed: " + r.url() + " " + why);
  });
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:"))
      problems.push("request to another host: " + r.url());
  });
}

module.exports = { FLAGS, suite, watch };
