/*
 * operator.test.js: the console's operator pages in a real browser
 * (Debian's /usr/bin/chromium driven by playwright-core), against the
 * redis-server and hotlined tests/browser/run.py started, after
 * console.test.js. run.py made the operator account:
 *   HL_URL  hotlined's base URL   HL_OP_NAME, HL_PW  the operator account
 *   HL_SHOTS  where screenshots go
 * An operator signs in, walks the menus directory's file in the phone
 * frame, sees a broken file refused with its line, publishes the shipped
 * file then an edited one, sees a real USSD walk served the edit, compares
 * the two versions, rolls back, and the old screens come back.
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
const NAME = process.env.HL_OP_NAME;
const PW = process.env.HL_PW;
const SHOTS = process.env.HL_SHOTS;
const SHIPPED = fs.readFileSync(path.join(__dirname, "..", "..", "config",
                                          "menus", "hotline.cfg"), "utf8");
const OLD_MAIN = "What do you need? Press 99";
const NEW_MAIN = "How can we help? Press 99";
const OLD_RE = /What do you need\? Press 99/;
const NEW_RE = /How can we help\? Press 99/;

const { tests, test, run: runTests } = suite();
const problems = [];

function watch(page) {
  watchPage(page, URL_, problems, {
    /* the broken file's publish: 422 is the answer shown */
    console: (text, where) =>
      /status of 422/.test(text) && /\/api\/operator\/publish/.test(where),
    failed: (url) => /\/api\/events$/.test(url),
  });
}

let walks = 0;
/* A real Africa's Talking walk over HTTP: the last screen. */
async function ussd(steps) {
  walks++;
  let body = "";
  for (let i = 0; i <= steps.length; i++) {
    const r = await fetch(URL_ + "/ussd/africastalking", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ sessionId: "op-walk-" + walks,
        serviceCode: "*384*123#", phoneNumber: "+8491300" + String(1000 + walks),
        networkCode: "45204", text: steps.slice(0, i).join("*") }).toString(),
    });
    body = await r.text();
  }
  return body;
}

async function until(fn, ms, what) {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error("timed out: " + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function upload(page, name, text, publish) {
  await page.setInputFiles("#op-file", { name, mimeType: "text/plain",
                                         buffer: Buffer.from(text, "utf8") });
  await page.$eval("#op-msg", (e) => { e.textContent = ""; });
  await page.click(publish ? "#op-publish" : "#op-check");
  await page.waitForFunction(() => document.getElementById("op-msg").textContent !== "");
  return page.textContent("#op-msg");
}

/* Waits until the phone frame shows re; says what it shows instead. */
async function shows(page, re) {
  try {
    await page.waitForFunction((src) => new RegExp(src).test(
      document.getElementById("op-screen").textContent), re.source);
  } catch (e) {
    throw new Error("the phone shows " + JSON.stringify(await screen(page)) +
                    ", the page says " + JSON.stringify(await page.textContent("#op-msg")));
  }
}

async function screen(page) {
  return page.textContent("#op-screen");
}

async function answer(page, a) {
  const before = await page.$$eval("#op-trail li", (l) => l.length);
  await page.fill("#op-answer", a);
  await page.click("#op-send");
  await page.waitForFunction((n) => document.querySelectorAll("#op-trail li").length > n, before);
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "hotline-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium", headless: true, args: FLAGS,
    viewport: { width: 1100, height: 900 },
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.on("dialog", (d) => d.accept());     /* "Publish ...?" "Serve ...?" */
  watch(page);

  test("an operator signs in and sees the menus", async () => {
    await page.goto(URL_ + "/console/");
    await page.waitForSelector("#signin:not([hidden])");
    await page.fill("#name", NAME);
    await page.fill("#password", PW);
    await page.click("#signin-button");
    await page.waitForSelector("#op:not([hidden])");
    await page.waitForSelector('button[data-menu="hotline"]');
    assert.match(await page.textContent("#op-menu-rows"), /disguised/);
  });

  test("the phone frame walks the menus directory's file", async () => {
    await page.click('button[data-menu="hotline"]');
    await page.waitForFunction(() => document.getElementById("op-name").textContent === "hotline");
    await page.selectOption("#op-sim-ver", "0");
    await page.click("#op-sim-start");
    await shows(page, /Chon ngon ngu/);
    assert.match(await page.textContent("#op-meter"), /^\d+ \/ 182 GSM-7, page 1\/1/);
    await answer(page, "2");
    assert.match(await screen(page), OLD_RE);
    await answer(page, "7");
    assert.match(await screen(page), /^Invalid\. Try again\./);
    /* Unfolded Vietnamese by SMS: UCS-2, 70 a segment */
    await page.selectOption("#op-sim-ch", "sms");
    await page.uncheck("#op-sim-fold");
    await page.fill("#op-sim-lang", "vi");
    await page.fill("#op-sim-parts", "1");
    await page.click("#op-sim-start");
    await shows(page, /Chọn ngôn ngữ/);
    assert.match(await page.textContent("#op-meter"), /^\d+ \/ 70 UCS-2/);
    await answer(page, "1");
    assert.match(await screen(page), /Bạn cần gì\?/);
    await page.screenshot({ path: path.join(SHOTS, "operator-phone.png") });
    await page.selectOption("#op-sim-ch", "ussd");
    await page.check("#op-sim-fold");
    await page.fill("#op-sim-lang", "");
  });

  test("a broken file is refused with its line; nothing published", async () => {
    const broken = SHIPPED.replace('next = "main"', 'next = "nowhere"');
    const line = SHIPPED.slice(0, SHIPPED.indexOf('next = "main"')).split("\n").length;
    assert.match(await upload(page, "hotline.cfg", broken, true), /Not published: the file has 1 error/);
    const first = await page.$eval("#op-diags li.op-err", (e) => [e.textContent, e.getAttribute("data-line")]);
    assert.equal(first[1], String(line));
    assert.match(first[0], new RegExp("^upload:" + line + ": .*nowhere"));
    assert.match(await page.textContent("#op-menu-rows"), /hotline\s*the file of the menus directory/);
    await page.screenshot({ path: path.join(SHOTS, "operator-refused.png") });
  });

  test("publish, a real USSD walk is served it, then roll back", async () => {
    assert.match(await upload(page, "hotline.cfg", SHIPPED, false), /No error: hotline can be published/);
    await page.fill("#op-note", "as shipped");
    assert.equal(await upload(page, "hotline.cfg", SHIPPED, true), "Published hotline version 1.");
    const edited = SHIPPED.replace(OLD_MAIN, NEW_MAIN);
    await page.fill("#op-note", "clearer main screen");
    assert.equal(await upload(page, "hotline.cfg", edited, true), "Published hotline version 2.");
    await page.waitForSelector("tr.op-current >> text=clearer main screen");
    const ms = await until(async () => NEW_RE.test(await ussd(["2"])), 3000,
                           "the gateway serves version 2");
    console.log(`figures: a real USSD walk met version 2 ${ms} ms after the console published it`);
    /* the phone frame shows the new version too */
    await page.selectOption("#op-sim-ver", "2");
    await page.click("#op-sim-start");
    await shows(page, /Chon ngon ngu/);
    await answer(page, "2");
    assert.match(await screen(page), NEW_RE);
    /* what changed between 1 and 2 */
    await page.selectOption("#op-a", "1");
    await page.selectOption("#op-b", "2");
    await page.click("#op-diff");
    await page.waitForSelector("#op-diff-out:not([hidden])");
    const diff = await page.textContent("#op-diff-out");
    assert.match(diff, /~ node main: text \[en\]/);
    assert.ok(diff.includes(NEW_MAIN) && diff.includes(OLD_MAIN), diff);
    await page.screenshot({ path: path.join(SHOTS, "operator-published.png") });
    /* roll back to 1: the old screens come back */
    await page.click('button[data-rollback="1"]');
    await page.waitForFunction(() => /Rolled back: now version 3/.test(document.getElementById("op-msg").textContent));
    await page.waitForSelector("tr.op-current >> text=rollback to v1");
    await until(async () => OLD_RE.test(await ussd(["2"])), 3000,
                "the gateway serves the old screens again");
    await page.click("#op-funnel");
    await page.waitForSelector("#op-funnel-table:not([hidden])");
    await page.screenshot({ path: path.join(SHOTS, "operator-rolled-back.png") });
  });

  test("the operator page in Vietnamese", async () => {
    await page.click("#lang-vi");
    assert.equal(await page.textContent("#op h2"), "Kịch bản menu");
    assert.equal(await page.textContent("#op-publish"), "Xuất bản");
    await page.click("#lang-en");
  });

  test("page weight with the operator pages stays under 100 KB", async () => {
    let total = 0;
    for (const f of ["", "console.js", "console.css", "operator.js", "operator.css", "favicon.svg"])
      total += (await (await fetch(URL_ + "/console/" + f)).arrayBuffer()).byteLength;
    console.log(`figures: console page weight with the operator pages ${total} bytes uncompressed`);
    assert.ok(total < 100 * 1024, `${total} bytes`);
  });

  test("no console errors, page errors, blocked or foreign requests", async () => {
    assert.deepEqual(problems, []);
  });

  const { passed, failed } = await runTests(() =>
    page.screenshot({ path: path.join(SHOTS, "operator-failed.png") }));
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
