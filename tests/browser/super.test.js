/*
 * super.test.js: the supervisor view of the staff console in a real
 * browser (Debian's chromium, playwright-core). tests/browser/run.py
 * (super_main) starts its own redis-server and hotlined with one queue
 * whose webhook receiver is down, files two help requests (both
 * dead-lettered), has a staff member claim the second, then runs this with:
 *   HL_URL      hotlined's base URL       HL_PW       every account's password
 *   HL_SUPER    the supervisor            HL_STAFF    a staff member (claimed HL_CLAIMED)
 *   HL_TO       a staff member to reassign to
 *   HL_DEAD     the case whose alert is only dead-lettered (still new)
 *   HL_PHONES   the callers' numbers      HL_HOOK     the receiver's control
 *   HL_SHOTS    where the screenshot goes
 * Prints one line per test and ends with "N passed, N failed".
 */
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");
const { FLAGS, suite, watch: watchPage } = require("./lib.js");

const URL_ = process.env.HL_URL;
const PW = process.env.HL_PW;
const SUPER = process.env.HL_SUPER;
const STAFF = process.env.HL_STAFF;
const TO = process.env.HL_TO;
const DEAD = process.env.HL_DEAD;
const CLAIMED = process.env.HL_CLAIMED;
const PHONES = process.env.HL_PHONES.split(" ");
const HOOK = process.env.HL_HOOK;
const SHOTS = process.env.HL_SHOTS;

const { tests, test, run: runTests } = suite();

const problems = [];
let forbidden = false;      /* the staff member's 403 is expected */
let leaving = false;        /* a page navigated away aborts its requests */
function watch(page) {
  watchPage(page, URL_, problems, {
    console: (text, where) =>
      forbidden && /status of 403/.test(text) && /\/api\/super\//.test(where),
    failed: (url, why) => /ERR_ABORTED/.test(why) &&
      (/\/api\/events$/.test(url) || leaving),
  });
}

function record(page, into) {
  page.on("response", async (r) => {
    if (/\/api\/events$/.test(r.url())) return;
    try { into.push({ url: r.url(), body: await r.text() }); } catch (e) { /* gone */ }
  });
}

async function walk(session, phone) {
  let body = "";
  for (const t of ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]) {
    const r = await fetch(URL_ + "/ussd/africastalking", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ sessionId: session, serviceCode: "*384*123#",
        phoneNumber: phone, networkCode: "45204", text: t }).toString(),
    });
    body = await r.text();
  }
  return /reference is ([0-9A-Z]{6})/.exec(body)[1];
}

async function signIn(page, name) {
  await page.goto(URL_ + "/console/");
  await page.waitForSelector("#signin:not([hidden])");
  await page.fill("#name", name);
  await page.fill("#password", PW);
  await page.click("#signin-button");
  await page.waitForSelector("#work:not([hidden])");
}

async function browser() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "hotline-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium", headless: true, args: FLAGS,
    viewport: { width: 1100, height: 900 },
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(10000);
  watch(page);
  return { ctx, page, profile };
}

async function main() {
  const a = await browser();
  const page = a.page;
  const seen = [];
  record(page, seen);

  test("a supervisor sees open cases per queue, the oldest waiting and today's figures", async () => {
    await signIn(page, SUPER);
    await page.waitForSelector("#super:not([hidden])");
    await page.waitForSelector('#s-queue-rows tr[data-queue="urgent"]');
    const row = await page.$eval('#s-queue-rows tr[data-queue="urgent"]', (tr) =>
      Array.from(tr.cells).map((c) => c.textContent));
    assert.equal(row[0], "urgent");
    assert.equal(row[1], "1", "one new case");
    assert.equal(row[2], "1", "one claimed case");
    assert.match(row[3], new RegExp("^" + DEAD + " \u2014 \\d+ s$"), "the oldest waiting");
    assert.match(await page.textContent("#s-ttc"), /^median \d+ s, 90% within \d+ s \(cases: 1\)$/);
    assert.equal(await page.textContent("#s-ttr"), "no cases yet today");
    assert.match(await page.textContent(`#s-claimed-rows tr[data-ref="${CLAIMED}"]`),
      new RegExp(STAFF + ", \\d+ s"));
    await page.screenshot({ path: path.join(SHOTS, "supervisor.png"), fullPage: true });
  });

  test("the dead-lettered alerts are listed; Retry delivers one again, once", async () => {
    await page.waitForSelector("#s-dead:not([hidden])");
    const rows = await page.$$eval("#s-dead-rows tr", (l) => l.map((tr) =>
      Array.from(tr.cells).slice(0, 3).map((c) => c.textContent)));
    assert.deepEqual(rows.map((r) => r[0]).sort(), [DEAD, CLAIMED].sort());
    assert.deepEqual(rows.map((r) => r[2]), ["2", "2"], "two attempts each");
    await fetch(HOOK + "/up", { method: "POST" });          /* the receiver is back */
    const id = await page.$eval("#s-dead-rows tr", (tr) => tr.getAttribute("data-id"));
    const ref = await page.$eval("#s-dead-rows tr td", (td) => td.textContent);
    await page.click("#s-dead-rows tr .s-retry");
    await page.waitForFunction(() => /^Sent again: 1\./.test(
      document.getElementById("s-msg").textContent));
    const t0 = Date.now();
    let got = [];
    while (Date.now() - t0 < 5000) {
      got = await (await fetch(HOOK + "/got")).json();
      if (got.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(got, [ref], "the retried alert arrived");
    await page.waitForFunction((i) => !document.querySelector(`#s-dead-rows tr[data-id="${i}"]`), id);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(await (await fetch(HOOK + "/got")).json(), [ref], "once");
    /* Retry all sends the other */
    await page.click("#s-retry-all");
    await page.waitForSelector("#s-no-dead:not([hidden])");
    const t1 = Date.now();
    while (Date.now() - t1 < 5000 && got.length < 2) {
      got = await (await fetch(HOOK + "/got")).json();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(got.sort(), [DEAD, CLAIMED].sort(), "each delivered once");
  });

  test("a supervisor reassigns a claimed case; the history says who did it", async () => {
    const row = `#s-claimed-rows tr[data-ref="${CLAIMED}"]`;
    await page.fill(row + " .s-to", TO);
    await page.click(row + " .s-reassign");
    await page.waitForFunction((t) => document.getElementById("s-msg").textContent ===
      t, `${CLAIMED} reassigned to ${TO}.`);
    await page.waitForFunction(([sel, to]) => {
      const tr = document.querySelector(sel);
      return tr && tr.querySelector(".s-by").textContent.startsWith(to + ",");
    }, [row, TO]);
    const c = await page.evaluate(async (ref) =>
      (await fetch("/api/cases/" + ref, { credentials: "same-origin" })).json(), CLAIMED);
    assert.equal(c.claimed_by, TO);
    const h = c.history.filter((e) => e.what === "reassign");
    assert.deepEqual(h.map((e) => [e.who, e.from, e.to]), [[SUPER, STAFF, TO]]);
  });

  test("no phone number in the page or any response it received", async () => {
    const html = await page.content();
    for (const p of PHONES) {
      const tail = p.slice(3);
      assert.ok(!html.includes(tail), "number in the DOM");
      for (const s of seen)
        assert.ok(!s.body.includes(tail), "number in " + s.url);
      assert.ok(!page.url().includes(tail));
    }
    assert.ok(seen.some((s) => /\/api\/super\/dead$/.test(s.url)), "responses were seen");
  });

  let b = null;
  test("a staff member does not see the view, and its API answers 403", async () => {
    b = await browser();
    forbidden = true;
    await signIn(b.page, STAFF);
    await b.page.waitForSelector("#case-rows tr");
    assert.equal(await b.page.$eval("#super", (e) => e.hidden), true);
    const st = await b.page.evaluate(async () => [
      (await fetch("/api/super/summary", { credentials: "same-origin" })).status,
      (await fetch("/api/super/dead", { credentials: "same-origin" })).status]);
    assert.deepEqual(st, [403, 403]);
  });

  test("a console lists every open case when it (re)connects, past one page of 200", async () => {
    /* both consoles closed while 210 help requests are filed (one at a
     * time: the machine running this is shared), then one opens again */
    leaving = true;
    await a.page.goto("about:blank");
    await b.page.goto("about:blank");
    leaving = false;
    const refs = [];
    for (let n = 0; n < 210; n++)
      refs.push(await walk("browser-many-" + n, "+8491300" + String(n).padStart(4, "0")));
    const open = refs.length + 2;           /* and DEAD (new), CLAIMED (claimed) */
    await b.page.goto(URL_ + "/console/");
    await b.page.waitForFunction((n) =>
      document.querySelectorAll("#case-rows tr").length === n, open, { timeout: 20000 });
    const shown = await b.page.$$eval("#case-rows tr", (l) => l.map((tr) => tr.getAttribute("data-ref")));
    for (const r of refs.concat([DEAD, CLAIMED])) assert.ok(shown.includes(r), `row ${r} listed`);
    assert.equal(new Set(shown).size, shown.length, "no row doubled");
  });

  test("no console errors, page errors, blocked or foreign requests", async () => {
    assert.deepEqual(problems, []);
  });

  const { passed, failed } = await runTests();
  for (const x of [a, b]) {
    if (!x) continue;
    await x.ctx.close().catch(() => {});
    fs.rmSync(x.profile, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.log("FAIL browser: " + (e && e.stack ? e.stack : e));
  console.log(`0 passed, ${tests.length || 1} failed`);
  process.exitCode = 1;
});
