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

const URL_ = process.env.HL_URL;
const NAME = process.env.HL_NAME;
const PW = process.env.HL_PW;
const REF = process.env.HL_REF;
const PHONE = process.env.HL_PHONE;
const SHOTS = process.env.HL_SHOTS;
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
  "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];

const tests = [];
function test(name, fn) { tests.push({ name, fn }); }

/* What the page does wrong: console errors, page errors, failed or
 * blocked requests, requests to another host. 401s of /api/session are
 * expected (not signed in yet, a wrong password) and left out. */
const problems = [];
function watch(page) {
  page.on("console", (m) => {
    if (m.type() !== "error" && m.type() !== "warning") return;
    const where = (m.location() && m.location().url) || "";
    if (/status of 401/.test(m.text()) && /\/api\/session$/.test(where)) return;
    problems.push("console " + m.type() + ": " + m.text() + " @ " + where);
  });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("requestfailed", (r) =>
    problems.push("request failed: " + r.url() + " " + (r.failure() || {}).errorText));
  page.on("request", (r) => {
    if (!r.url().startsWith(URL_) && !r.url().startsWith("data:"))
      problems.push("request to another host: " + r.url());
  });
}

async function metrics() {
  return (await fetch(URL_ + "/metrics")).text();
}

async function signIn(page, pw) {
  await page.fill("#name", NAME);
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

  let passed = 0, failed = 0;
  for (const t of tests) {
    const t0 = Date.now();
    try {
      await t.fn();
      passed++;
      console.log(`ok   ${t.name} (${((Date.now() - t0) / 1000).toFixed(2)}s)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name} (${((Date.now() - t0) / 1000).toFixed(2)}s)`);
      console.log(e && e.stack ? e.stack : String(e));
    }
  }
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
