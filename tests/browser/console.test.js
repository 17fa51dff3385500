/*
 * console.test.js: the staff console in a real browser (Debian's
 * /usr/bin/chromium driven by playwright-core; nothing is downloaded).
 * tests/browser/run.py starts redis-server and hotlined, makes the staff
 * account and a USSD help walk over HTTP, then runs this with:
 *   HL_URL     hotlined's base URL          HL_NAME, HL_PW  the account
 *   HL_REF     the case the walk filed      HL_PHONE        its caller
 *   HL_SHOTS   where screenshots go (under the build folder)
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
const NAME = process.env.HL_NAME;
const PW = process.env.HL_PW;
const REF = process.env.HL_REF;
const PHONE = process.env.HL_PHONE;
const SHOTS = process.env.HL_SHOTS;
const NAME2 = process.env.HL_NAME2;
const CTL = process.env.HL_CTL;

const { tests, test, run: runTests } = suite();

/* What the page does wrong: console errors, page errors, failed or
 * blocked requests, requests to another host. 401s of /api/session are
 * expected (not signed in yet, a wrong password) and left out. */
const problems = [];
let restarting = false;    /* the live link may fail while hotlined restarts */
let refusing = false;       /* B's resolve of A's case: a 409 is expected */
function watch(page) {
  watchPage(page, URL_, problems, {
    console: (text, where) =>
      (restarting && /\/api\/(events|cases|session)/.test(text + where)) ||
      (refusing && /status of 409/.test(text) && /\/resolve$/.test(where)),
    /* the live link while hotlined restarts; an EventSource the page closed */
    failed: (url, why) => (restarting && /\/api\//.test(url)) ||
      (/\/api\/events$/.test(url) && /ERR_ABORTED/.test(why)),
  });
}

async function metrics() {
  return (await fetch(URL_ + "/metrics")).text();
}

/* Every response body a page received, to look for the number in. */
function record(page, into) {
  page.on("response", async (r) => {
    if (/\/api\/events$/.test(r.url())) return;   /* never ends; checked below */
    try { into.push({ url: r.url(), body: await r.text() }); } catch (e) { /* gone */ }
  });
}

async function ussd(session, text, phone) {
  const r = await fetch(URL_ + "/ussd/africastalking", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ sessionId: session, serviceCode: "*384*123#",
      phoneNumber: phone, networkCode: "45204", text }).toString(),
  });
  return r.text();
}

async function walk(session, phone, safe) {
  let body = "";
  for (const t of ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1"].concat(
    safe ? ["2*1*Hanoi*1*1", "2*1*Hanoi*1*1*1"] : ["2*1*Hanoi*1*2"]))
    body = await ussd(session, t, phone);
  return /reference is ([0-9A-Z]{6})/.exec(body)[1];
}

async function sms(text, id, from) {
  const q = new URLSearchParams({ from, to: "1234", text, id, smsc: "fake",
    coding: "0", charset: "UTF-8" });
  return (await fetch(URL_ + "/sms/kannel?" + q)).text();
}

async function rowCount(page, ref) {
  return page.$$eval(`tr[data-ref="${ref}"]`, (l) => l.length);
}

async function signIn(page, pw, name) {
  await page.fill("#name", name || NAME);
  await page.fill("#password", pw);
  await page.click("#signin-button");
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "hotline-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: { width: 1100, height: 700 },
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(10000);
  watch(page);
  let firstResponse = null;

  test("the console page loads with CSP and the other headers", async () => {
    firstResponse = await page.goto(URL_ + "/console/");
    assert.equal(firstResponse.status(), 200);
    const h = firstResponse.headers();
    assert.match(h["content-security-policy"], /default-src 'self'/);
    assert.match(h["content-security-policy"], /frame-ancestors 'none'/);
    assert.doesNotMatch(h["content-security-policy"], /unsafe-inline/);
    assert.equal(h["referrer-policy"], "no-referrer");
    assert.equal(h["x-content-type-options"], "nosniff");
    assert.equal(h["cache-control"], "no-store");
    await page.waitForSelector("#signin:not([hidden])");
    assert.equal(await page.title(), "hotline staff console");
    await page.screenshot({ path: path.join(SHOTS, "console-signin.png") });
  });

  test("a wrong password is refused and counted in /metrics", async () => {
    const before = await metrics();
    assert.doesNotMatch(before, /hotline_staff_login_failures_total\{reason="password"\}/);
    await signIn(page, "not the password");
    await page.waitForFunction(() =>
      document.getElementById("signin-error").textContent !== "");
    assert.equal(await page.textContent("#signin-error"), "Wrong name or password.");
    assert.equal(await page.isVisible("#work"), false);
    assert.equal((await ctx.cookies()).length, 0, "no cookie for a wrong password");
    assert.match(await metrics(), /hotline_staff_login_failures_total\{reason="password"\} 1\n/);
  });

  test("sign-in shows the case list with the case a USSD walk filed", async () => {
    await signIn(page, PW);
    await page.waitForSelector("#work:not([hidden])");
    const row = await page.waitForSelector(`tr[data-ref="${REF}"]`);
    const cells = await row.$$eval("td", (tds) => tds.map((td) => td.textContent));
    assert.equal(cells[0], REF);
    assert.equal(cells[1], "new");
    assert.equal(cells[4], "Hanoi");
    assert.equal(cells[6], "NO - do not call or text");
    assert.match(await page.textContent("#who"), new RegExp("Signed in as " + NAME));
    const cookie = (await ctx.cookies()).find((c) => c.name === "hl_session");
    assert.ok(cookie, "the session cookie is set");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(await page.evaluate(() => document.cookie), "",
      "the page's script cannot read the session cookie");
    const html = await page.content();
    assert.ok(!html.includes(PHONE.slice(-9)), "the phone number is not in the page");
    await page.screenshot({ path: path.join(SHOTS, "console-cases.png"), fullPage: true });
  });

  test("a reload keeps the session; Vietnamese is remembered", async () => {
    await page.click("#lang-vi");
    assert.equal(await page.textContent("#refresh"), "Làm mới");
    await page.reload();
    await page.waitForSelector(`tr[data-ref="${REF}"]`);
    assert.equal(await page.textContent("h2[data-t=cases]"), "Yêu cầu trợ giúp");
    assert.equal(await page.getAttribute("html", "lang"), "vi");
    await page.screenshot({ path: path.join(SHOTS, "console-cases-vi.png") });
    await page.click("#lang-en");
    assert.equal(await page.textContent("#refresh"), "Refresh");
  });

  const seen = [];          /* every response page A received */
  record(page, seen);
  let page2 = null, ctx2 = null, profile2 = null;
  const seen2 = [];
  let liveRef = null, riskRef = null, safeRef = null;

  test("a USSD help walk appears on the open console within 1 s", async () => {
    await page.waitForSelector("#work:not([hidden])");
    await page.waitForFunction(() => document.getElementById("offline").hidden);
    await page.waitForTimeout(300);     /* the live link is open */
    liveRef = await walk("live-1", "+84912000401", false);
    const t0 = Date.now();              /* after the caller's last screen */
    await page.waitForSelector(`tr[data-ref="${liveRef}"]`, { timeout: 5000 });
    const ms = Date.now() - t0;
    console.log(`figures: new help request in the console ${ms} ms after the caller's last screen`);
    assert.ok(ms < 1000, `took ${ms} ms`);
    assert.equal(await page.isVisible("#cue"), true, "a visible cue");
    assert.match(await page.textContent("#cue"), /1 new/);
    const wait1 = await page.textContent(`tr[data-ref="${liveRef}"] td.wait`);
    await page.waitForTimeout(2100);
    const wait2 = await page.textContent(`tr[data-ref="${liveRef}"] td.wait`);
    const skew = await page.evaluate(() => Date.now()) - Date.now();
    assert.notEqual(wait1, wait2, `the waiting time ticks (${wait1} then ${wait2}; browser clock ${skew} ms off)`);
  });

  test("a caller who pressed 99 after filing shows HIGH RISK, first", async () => {
    const from = "+84933000402";
    let body = "";
    for (const [i, t] of ["HELP", "2", "1", "Hanoi", "1", "2"].entries())
      body = await sms(t, "r" + i, from);
    riskRef = /reference is ([0-9A-Z]{6})/.exec(body)[1];
    await page.waitForSelector(`tr[data-ref="${riskRef}"]`);
    assert.equal(await page.$(`tr[data-ref="${riskRef}"].risk-high`), null);
    await sms("99", "r99", from);
    await page.waitForSelector(`tr[data-ref="${riskRef}"].risk-high`, { timeout: 2000 });
    const mark = await page.$eval(`tr[data-ref="${riskRef}"] td.ref`,
      (td) => getComputedStyle(td, "::after").content);
    assert.match(mark, /HIGH RISK/);
    const first = await page.$eval("#case-rows tr", (tr) => tr.getAttribute("data-ref"));
    assert.equal(first, riskRef, "the risky case is sorted first");
    assert.equal(await rowCount(page, riskRef), 1);
  });

  test("filters and search by reference", async () => {
    await page.fill("#f-ref", liveRef.slice(0, 4));
    assert.equal(await page.$$eval("#case-rows tr", (l) => l.length), 1);
    await page.fill("#f-ref", "");
    await page.selectOption("#f-status", "claimed");
    assert.equal(await page.$$eval("#case-rows tr", (l) => l.length), 0);
    await page.selectOption("#f-status", "open");
    assert.ok(await page.$$eval("#case-rows tr", (l) => l.length) >= 3);
    await page.screenshot({ path: path.join(SHOTS, "console-queue.png"), fullPage: true });
  });

  test("two staff: A claims, B sees it live, B's resolve is refused with A's name", async () => {
    profile2 = fs.mkdtempSync(path.join(os.tmpdir(), "hotline-chromium-"));
    ctx2 = await chromium.launchPersistentContext(profile2, {
      executablePath: "/usr/bin/chromium", headless: true, args: FLAGS,
      viewport: { width: 900, height: 700 },
    });
    page2 = ctx2.pages()[0] || await ctx2.newPage();
    page2.setDefaultTimeout(10000);
    watch(page2);
    record(page2, seen2);
    await page2.goto(URL_ + "/console/");
    await page2.waitForSelector("#signin:not([hidden])");
    await signIn(page2, PW, NAME2);
    await page2.waitForSelector(`tr[data-ref="${REF}"]`);
    await page2.waitForTimeout(300);
    await page.click(`tr[data-ref="${REF}"]`);
    await page.waitForSelector("#case:not([hidden])");
    await page.keyboard.press("c");                     /* claim by key */
    await page.waitForFunction(() => /claimed by lan/.test(
      document.getElementById("c-claimed").textContent));
    await page2.waitForFunction((ref) => {
      const td = document.querySelector(`tr[data-ref="${ref}"] td.state`);
      return td && td.textContent === "claimed";
    }, REF, { timeout: 2000 });
    await page2.click(`tr[data-ref="${REF}"]`);
    await page2.waitForSelector("#case:not([hidden])");
    assert.match(await page2.textContent("#c-claimed"), /^claimed by lan, \d+ s ago$/);
    refusing = true;
    await page2.click("#c-resolve");
    await page2.waitForFunction(() => document.getElementById("c-msg").textContent !== "");
    refusing = false;
    assert.equal(await page2.textContent("#c-msg"), "case is claimed by lan");
  });

  test("a not-safe case: the first line says so, no call or text affordance", async () => {
    const first = await page.$eval("#case > *:not([hidden])", (e) => e.id);
    assert.equal(first, "c-safe", "the safe-to-call line comes first");
    assert.equal(await page.textContent("#c-safe"), "Safe to call back: NO \u2014 do not call or text");
    assert.equal(await page.isVisible("#c-risk"), false, "no HIGH RISK on a case without duress");
    const big = await page.$eval("#c-safe", (e) => parseFloat(getComputedStyle(e).fontSize));
    const others = await page.$$eval("#case *", (l) => Math.max(...l.filter((e) =>
      e.id !== "c-safe").map((e) => parseFloat(getComputedStyle(e).fontSize))));
    assert.ok(big > others, `the largest line (${big} px vs ${others} px)`);
    await page.screenshot({ path: path.join(SHOTS, "console-case.png"), fullPage: true });
  });

  test("the number is masked everywhere until Reveal, which is recorded", async () => {
    const digits = PHONE.slice(-9);
    assert.match(await page.textContent("#c-phone"), /^\+84 9\u2022\u2022 \u2022\u2022\u2022 \u2022\d\d$/);
    for (const [p, list] of [[page, seen], [page2, seen2]]) {
      assert.ok(!(await p.content()).includes(digits), "not in the DOM");
      const hit = list.filter((r) => r.body.includes(digits)).map((r) => r.url);
      assert.deepEqual(hit, [], "not in a response");
      assert.ok(list.some((r) => /\/api\/cases/.test(r.url)), "responses were seen");
    }
    await page.click("#c-reveal");
    await page.waitForFunction((p) => document.getElementById("c-phone").textContent === p, PHONE);
    assert.equal(await page.isVisible("#c-call"), false, "no call link: not safe");
    assert.equal(await page.isVisible("#c-sms"), false, "no text link: not safe");
    assert.equal(await page.$("a[href^='tel:'], a[href^='sms:']"), null);
    await page.waitForSelector("#c-history li[data-what=reveal]");
    assert.match(await page.textContent("#c-history li[data-what=reveal]"), /lan revealed the number/);
    assert.ok(!(await page2.content()).includes(digits), "B's page never had it");
  });

  test("A notes and resolves by keyboard; the history shows each step with who", async () => {
    await page.keyboard.press("n");
    await page.keyboard.type("called the shelter");
    await page.keyboard.press("Control+Enter");
    await page.waitForSelector("#c-history li.note");
    assert.match(await page.textContent("#c-history li.note"), /lan: called the shelter/);
    await page.keyboard.press("r");
    await page.waitForFunction(() => /resolved by lan/.test(
      document.getElementById("c-claimed").textContent));
    const steps = await page.$$eval("#c-history li[data-what]", (l) => l
      .filter((li) => ["claim", "note", "resolve", "reveal"].includes(li.getAttribute("data-what")))
      .map((li) => li.getAttribute("data-what") + ":" + / — (\S+) /.exec(li.textContent)[1]));
    assert.deepEqual(steps, ["claim:lan", "reveal:lan", "note:lan", "resolve:lan"]);
    await page.keyboard.press("Escape");
    await page.waitForSelector("#queue:not([hidden])");
    await page2.waitForFunction(() => /resolved by lan/.test(
      document.getElementById("c-claimed").textContent), null, { timeout: 2000 });
  });

  test("a safe case gets a call link, once revealed", async () => {
    safeRef = await walk("safe-1", "+84912000403", true);
    await page.waitForSelector(`tr[data-ref="${safeRef}"]`);
    await page.click(`tr[data-ref="${safeRef}"]`);
    await page.waitForSelector("#case:not([hidden])");
    assert.equal(await page.textContent("#c-safe"), "Safe to call back: YES");
    assert.equal(await page.isVisible("#c-call"), false, "no link before Reveal");
    await page.click("#c-reveal");
    await page.waitForSelector("#c-call:not([hidden])");
    assert.equal(await page.getAttribute("#c-call", "href"), "tel:+84912000403");
    await page.keyboard.press("Escape");
    await page.waitForSelector("#queue:not([hidden])");
  });

  test("the live link cut (hotlined restarted) and back: no row lost or doubled", async () => {
    const before = await page.$$eval("#case-rows tr", (l) => l.map((tr) => tr.getAttribute("data-ref")));
    restarting = true;
    const res = fetch(CTL + "/restart", { method: "POST" });
    await page.waitForSelector("#offline:not([hidden])", { timeout: 10000 });
    await page.screenshot({ path: path.join(SHOTS, "console-offline.png") });
    const ref = await (await res).text();
    await page.waitForSelector("#offline", { state: "hidden", timeout: 10000 });
    try {
      await page.waitForSelector(`tr[data-ref="${ref}"]`, { timeout: 5000 });
    } catch (e) {
      await page.screenshot({ path: path.join(SHOTS, "console-restart-failed.png") });
      throw e;
    }
    restarting = false;
    const after = await page.$$eval("#case-rows tr", (l) => l.map((tr) => tr.getAttribute("data-ref")));
    for (const r of before) assert.ok(after.includes(r), `row ${r} kept`);
    assert.equal(new Set(after).size, after.length, "no row doubled");
    assert.equal(after.length, before.length + 1);
    /* B is on a case page: the queue behind it is kept live too */
    await page2.waitForSelector(`tr[data-ref="${ref}"]`, { state: "attached", timeout: 5000 });
    assert.equal(await rowCount(page2, ref), 1);
    await ctx2.close();
    fs.rmSync(profile2, { recursive: true, force: true });
  });

  test("page weight stays under 100 KB", async () => {
    let total = 0;
    for (const f of ["", "console.js", "super.js", "console.css", "operator.js", "operator.css", "favicon.svg"])
      total += (await (await fetch(URL_ + "/console/" + f)).arrayBuffer()).byteLength;
    console.log(`figures: console page weight ${total} bytes uncompressed`);
    assert.ok(total < 100 * 1024, `${total} bytes`);
  });

  test("sign-out ends the session: the old cookie gets 401", async () => {
    const old = (await ctx.cookies()).find((c) => c.name === "hl_session").value;
    const ok = await fetch(URL_ + "/api/cases", { headers: { Cookie: "hl_session=" + old } });
    assert.equal(ok.status, 200);
    await page.click("#signout");
    await page.waitForSelector("#signin:not([hidden])");
    assert.equal(await page.textContent("#status"), "You are signed out.");
    assert.equal((await ctx.cookies()).filter((c) => c.name === "hl_session").length, 0);
    const gone = await fetch(URL_ + "/api/cases", { headers: { Cookie: "hl_session=" + old } });
    assert.equal(gone.status, 401);
    await page.reload();
    await page.waitForSelector("#signin:not([hidden])");
  });

  test("no console errors, page errors, blocked or foreign requests", async () => {
    assert.deepEqual(problems, []);
  });

  const { passed, failed } = await runTests();
  if (ctx2) await ctx2.close().catch(() => {});
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.log("FAIL browser: " + (e && e.stack ? e.stack : e));
  console.log(`0 passed, ${tests.length || 1} failed`);
  process.exitCode = 1;
});
