/*
 * console.js: the hotline staff console (no build step, nothing from
 * another host). Signs a person in with POST /api/session (the session is an
 * HttpOnly cookie; the CSRF token the answer carries goes in X-CSRF-Token on
 * every call that changes something), then lists the help requests of
 * GET /api/cases, kept live by GET /api/events (Server-Sent Events: each
 * event names a case, which is then read). A case page shows whether the
 * caller may be called back first; the number comes masked and is only
 * put in the page after Reveal (written to the case's history).
 */
"use strict";

(function () {
  var T = {
    en: {
      title: "hotline staff console",
      signin: "Sign in",
      name: "Name",
      password: "Password",
      refresh: "Refresh",
      signout: "Sign out",
      signout_all: "Sign out everywhere",
      cases: "Help requests",
      ref: "Reference",
      state: "Status",
      queue: "Queue",
      lang: "Language",
      place: "Place",
      waiting: "Waiting",
      safe: "Safe to call back",
      none: "No help requests.",
      yes: "YES",
      no: "NO - do not call or text",
      unknown: "not asked",
      new: "new",
      claimed: "claimed",
      resolved: "resolved",
      signed_in_as: "Signed in as",
      wrong: "Wrong name or password.",
      limited: "Too many failed sign-ins. Try again in {s} seconds.",
      failed: "The server did not answer. Try again.",
      signed_out: "You are signed out.",
      expired: "Your session ended. Please sign in again.",
      loading: "Loading...",
      updated: "Updated {t}.",
      min: "min",
      h: "h",
      d: "d",
      sound: "Sound",
      offline: "Live link lost: reconnecting...",
      open: "open (new and claimed)",
      all: "every status",
      all_queues: "every queue",
      all_langs: "every language",
      keys_queue: "Enter or click: open a case. On a case: c claim, n note, r resolve, Esc back.",
      high_risk: "HIGH RISK",
      phone: "Number",
      reveal: "Reveal",
      call: "Call",
      text: "Text",
      claim: "Claim (c)",
      resolve: "Resolve (r)",
      release: "Release",
      back: "Back (Esc)",
      note_label: "Note (n; Ctrl+Enter saves)",
      note: "Add note",
      history: "History",
      safe_line_yes: "Safe to call back: YES",
      safe_line_no: "Safe to call back: NO \u2014 do not call or text",
      safe_line_unknown: "Safe to call back: not asked \u2014 do not call or text",
      claimed_by: "claimed by {who}, {ago} ago",
      resolved_by: "resolved by {who}, {ago} ago",
      unclaimed: "not claimed",
      new_cases: "{n} new",
      h_claim: "claimed", h_release: "released", h_note: "added a note",
      h_resolve: "resolved", h_reveal: "revealed the number", h_read: "read",
      h_list: "listed",
      s: "s"
    },
    vi: {
      title: "Bảng điều khiển nhân viên đường dây nóng",
      signin: "Đăng nhập",
      name: "Tên",
      password: "Mật khẩu",
      refresh: "Làm mới",
      signout: "Đăng xuất",
      signout_all: "Đăng xuất khỏi mọi nơi",
      cases: "Yêu cầu trợ giúp",
      ref: "Mã số",
      state: "Trạng thái",
      queue: "Hàng đợi",
      lang: "Ngôn ngữ",
      place: "Nơi",
      waiting: "Đã chờ",
      safe: "Có an toàn để gọi lại",
      none: "Không có yêu cầu trợ giúp.",
      yes: "CÓ",
      no: "KHÔNG - đừng gọi hay nhắn tin",
      unknown: "chưa hỏi",
      new: "mới",
      claimed: "đã nhận",
      resolved: "đã xong",
      signed_in_as: "Đã đăng nhập:",
      wrong: "Sai tên hoặc mật khẩu.",
      limited: "Đăng nhập sai quá nhiều lần. Hãy thử lại sau {s} giây.",
      failed: "Máy chủ không trả lời. Hãy thử lại.",
      signed_out: "Bạn đã đăng xuất.",
      expired: "Phiên làm việc đã hết. Hãy đăng nhập lại.",
      loading: "Đang tải...",
      updated: "Cập nhật lúc {t}.",
      min: "phút",
      h: "giờ",
      d: "ngày",
      sound: "Âm thanh",
      offline: "Mất kết nối trực tiếp: đang kết nối lại...",
      open: "đang mở (mới và đã nhận)",
      all: "mọi trạng thái",
      all_queues: "mọi hàng đợi",
      all_langs: "mọi ngôn ngữ",
      keys_queue: "Enter hoặc bấm: mở hồ sơ. Trong hồ sơ: c nhận, n ghi chú, r xong, Esc quay lại.",
      high_risk: "NGUY CƠ CAO",
      phone: "Số điện thoại",
      reveal: "Hiện số",
      call: "Gọi",
      text: "Nhắn tin",
      claim: "Nhận (c)",
      resolve: "Xong (r)",
      release: "Trả lại",
      back: "Quay lại (Esc)",
      note_label: "Ghi chú (n; Ctrl+Enter để lưu)",
      note: "Thêm ghi chú",
      history: "Lịch sử",
      safe_line_yes: "An toàn để gọi lại: CÓ",
      safe_line_no: "An toàn để gọi lại: KHÔNG \u2014 đừng gọi hay nhắn tin",
      safe_line_unknown: "An toàn để gọi lại: chưa hỏi \u2014 đừng gọi hay nhắn tin",
      claimed_by: "{who} đã nhận, {ago} trước",
      resolved_by: "{who} đã xử lý xong, {ago} trước",
      unclaimed: "chưa ai nhận",
      new_cases: "{n} mới",
      h_claim: "đã nhận", h_release: "đã trả lại", h_note: "đã ghi chú",
      h_resolve: "đã xong", h_reveal: "đã hiện số", h_read: "đã xem",
      h_list: "đã liệt kê",
      s: "giây"
    }
  };

  var state = { lang: "en", csrf: null, who: null, cases: {}, timer: null,
                es: null, open: null, unseen: 0, revealed: null, skew: 0 };

  function $(id) { return document.getElementById(id); }

  function t(key, args) {
    var s = (T[state.lang] && T[state.lang][key]) || T.en[key] || key;
    Object.keys(args || {}).forEach(function (k) {
      s = s.replace("{" + k + "}", String(args[k]));
    });
    return s;
  }

  function setLang(lang) {
    state.lang = T[lang] ? lang : "en";
    try { localStorage.setItem("hotline.lang", state.lang); } catch (e) { /* private mode */ }
    document.documentElement.lang = state.lang;
    document.querySelectorAll("[data-t]").forEach(function (el) {
      el.textContent = t(el.getAttribute("data-t"));
    });
    document.title = t("title");
    say("");
    ["en", "vi"].forEach(function (l) {
      $("lang-" + l).setAttribute("aria-pressed", String(l === state.lang));
    });
    if (state.who) showWho();
    tell("hl-lang", state.lang);
    superHook("lang", state.lang);
    renderCases();
    if (state.open) renderCase(state.open);
  }

  function say(msg) { $("status").textContent = msg || ""; }

  /* Tells other parts of the page (operator.js) who signed in or out, and
   * the language: hl-signin {name, role, csrf}, hl-signout, hl-lang. */
  function tell(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  /* The supervisor view (super.js) is told of sign-in, sign-out, live
   * events and the language; it gets api() to make its own calls. */
  function superHook(what, arg) {
    if (window.hotlineSuper) window.hotlineSuper[what](arg, api);
  }

  /* One API call. Sends the CSRF token on anything but GET; the cookie
   * goes by itself (same origin). Resolves to {status, body, headers}. */
  function api(method, path, body) {
    var h = { "Accept": "application/json" };
    if (body !== undefined) h["Content-Type"] = "application/json";
    if (method !== "GET" && state.csrf) h["X-CSRF-Token"] = state.csrf;
    return fetch(path, {
      method: method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (r) {
      return r.text().then(function (txt) {
        var js = null;
        try { js = txt ? JSON.parse(txt) : null; } catch (e) { js = null; }
        return { status: r.status, body: js, headers: r.headers };
      });
    });
  }

  function showSignin(msg) {
    state.who = null;
    state.csrf = null;
    state.cases = {};
    state.open = null;
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    if (state.es) { state.es.close(); state.es = null; }
    superHook("stop");
    $("work").hidden = true;
    $("signin").hidden = false;
    tell("hl-signout", null);
    $("password").value = "";
    say(msg || "");
    $("name").focus();
  }

  function showWho() {
    $("who").textContent = t("signed_in_as") + " " + state.who.name +
      " (" + state.who.role + ")";
  }

  function showWork(who) {
    state.who = who;
    state.csrf = who.csrf;
    $("signin").hidden = true;
    $("work").hidden = false;
    $("signin-error").textContent = "";
    showWho();
    tell("hl-signin", who);
    superHook("start", who);
    live();
    if (!state.timer) state.timer = setInterval(tick, 1000);
  }

  /* How long ago ms was, in words: "45 s", "3 min", "2 h", "1 d". */
  function ago(ms) {
    var s = Math.max(0, (Date.now() + (state.skew || 0) - Number(ms)) / 1000);
    if (!isFinite(s)) return "";
    if (s < 60) return Math.floor(s) + " " + t("s");
    if (s < 3600) return Math.floor(s / 60) + " " + t("min");
    if (s < 86400) return Math.floor(s / 3600) + " " + t("h");
    return Math.floor(s / 86400) + " " + t("d");
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  /* The caller's answer to "safe to call back?": safe_to_call is true
   * only for "yes"; anything but a clear yes is not safe. */
  function safeOf(c) {
    var fields = c.fields && typeof c.fields === "object" ? c.fields : {};
    if (c.safe_to_call === true || c.safe_to_call === "yes") return "yes";
    if (fields.safe_to_call === "no" || c.safe_to_call === "no" ||
        c.safe_to_call === false) return "no";
    return "unknown";
  }

  /* Riskiest first, then the longest waiting. */
  function order(a, b) {
    var ra = a.risk === "high" ? 0 : 1, rb = b.risk === "high" ? 0 : 1;
    if (ra !== rb) return ra - rb;
    return Number(a.created || 0) - Number(b.created || 0);
  }

  function shown(c) {
    var st = $("f-status").value, q = $("f-queue").value, l = $("f-lang").value;
    var ref = $("f-ref").value.trim().toUpperCase();
    if (st === "open" && c.status === "resolved") return false;
    if (st && st !== "open" && c.status !== st) return false;
    if (q && c.queue !== q) return false;
    if (l && c.lang !== l) return false;
    return !ref || String(c.ref).indexOf(ref) >= 0;
  }

  /* The filter menus offer the queues and languages the cases have. */
  function options(id, key) {
    var sel = $(id), have = {}, seen = {};
    Array.prototype.forEach.call(sel.options, function (o) { have[o.value] = 1; });
    Object.keys(state.cases).forEach(function (r) {
      var v = state.cases[r][key];
      if (v && !have[v] && !seen[v]) {
        seen[v] = 1;
        var o = document.createElement("option");
        o.value = o.textContent = v;
        sel.appendChild(o);
      }
    });
  }

  function renderCases() {
    var tbody = $("case-rows");
    var list = Object.keys(state.cases).map(function (r) { return state.cases[r]; })
      .filter(shown).sort(order);
    options("f-queue", "queue");
    options("f-lang", "lang");
    tbody.textContent = "";
    list.forEach(function (c) {
      var tr = document.createElement("tr");
      var fields = c.fields && typeof c.fields === "object" ? c.fields : {};
      tr.className = "case" + (c.risk === "high" ? " risk-high" : "") +
        (c.fresh ? " fresh" : "");
      tr.tabIndex = 0;
      tr.setAttribute("data-ref", c.ref || "");
      cell(tr, c.ref, "ref");
      cell(tr, t(c.status) || c.status, "state");
      cell(tr, c.queue);
      cell(tr, c.lang);
      cell(tr, fields.location || "");
      cell(tr, ago(c.created), "wait").setAttribute("data-created", c.created);
      var safe = safeOf(c);
      cell(tr, t(safe), "safe-" + safe);
      tbody.appendChild(tr);
    });
    $("no-cases").hidden = list.length !== 0;
  }

  /* Once a second: the waiting times and the case page's "2 min ago". */
  function tick() {
    document.querySelectorAll("td.wait").forEach(function (td) {
      td.textContent = ago(td.getAttribute("data-created"));
    });
    if (state.open) claimedLine(state.open);
  }

  function casesOf(body) {
    if (Array.isArray(body)) return body;
    if (body && Array.isArray(body.cases)) return body.cases;
    return [];
  }

  /* The whole list again (on start, on every (re)connection of the live
   * link): every open case, new and claimed, page after page of 200 until
   * the listing's cursor ends (at most PAGES_MAX pages of each: 5000
   * cases). Rows are keyed by reference, so nothing is doubled; resolved
   * rows already shown stay, open rows no longer listed were resolved or
   * erased meanwhile and go. */
  var PAGES_MAX = 25;
  function listAll(status, into) {
    function page(cursor, n) {
      return api("GET", "/api/cases?status=" + status + "&limit=200" +
                 (cursor ? "&cursor=" + encodeURIComponent(cursor) : "")).then(function (r) {
        if (r.status !== 200) return r.status;
        casesOf(r.body).forEach(function (c) { into[c.ref] = c; });
        if (r.body && r.body.next && n + 1 < PAGES_MAX) return page(r.body.next, n + 1);
        return 200;
      });
    }
    return page(null, 0);
  }

  function loadCases() {
    var next = {};
    return listAll("new", next).then(function (st) {
      return st === 200 ? listAll("claimed", next) : st;
    }).then(function (st) {
      if (st === 401) { showSignin(t("expired")); return; }
      if (st !== 200) { say(t("failed")); return; }
      Object.keys(state.cases).forEach(function (ref) {
        if (!next[ref] && state.cases[ref].status === "resolved") next[ref] = state.cases[ref];
      });
      state.cases = next;
      renderCases();
      say(t("updated", { t: new Date().toLocaleTimeString() }));
    }, function () { say(t("failed")); });
  }

  /* A new help request: a mark by the title, a flash, and a beep when
   * the sound box is ticked. */
  function cue() {
    state.unseen++;
    $("cue").textContent = t("new_cases", { n: state.unseen });
    $("cue").hidden = false;
    if (!$("sound").checked) return;
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ac = new Ctx(), o = ac.createOscillator(), g = ac.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.1;
      o.connect(g);
      g.connect(ac.destination);
      o.start();
      o.stop(ac.currentTime + 0.2);
    } catch (e) { /* no audio: the visible cue stays */ }
  }

  /* One event of the live link: fetch that case (masked, audited). */
  function onEvent(ev) {
    var e;
    try { e = JSON.parse(ev.data); } catch (x) { return; }
    if (!e || !e.ref) return;
    superHook("event", e);
    api("GET", "/api/cases/" + encodeURIComponent(e.ref)).then(function (r) {
      if (r.status !== 200 || !r.body) return;
      var isNew = !state.cases[e.ref] && e.what === "new";
      r.body.fresh = isNew;
      state.cases[e.ref] = r.body;
      renderCases();
      r.body.fresh = false;
      if (isNew) cue();
      if (state.open && state.open.ref === e.ref) showCase(r.body);
    });
  }

  /* The live link (Server-Sent Events). EventSource reconnects by itself;
   * on every open the list is read again, so what happened while it was
   * down is not lost. */
  function live() {
    if (state.es) state.es.close();
    var es = new EventSource("/api/events");
    state.es = es;
    es.addEventListener("case", onEvent);
    /* the server's clock less this computer's: a laptop whose clock is
     * off still shows true waiting times */
    es.addEventListener("hello", function (ev) {
      try { state.skew = Number(JSON.parse(ev.data).now) - Date.now() || 0; } catch (x) { state.skew = 0; }
    });
    es.onopen = function () { $("offline").hidden = true; loadCases(); };
    es.onerror = function () {
      $("offline").hidden = false;
      if (es.readyState === 2 && state.es === es && state.who) {
        setTimeout(function () {
          if (state.es !== es || !state.who) return;
          api("GET", "/api/session").then(function (r) {
            if (r.status === 401) showSignin(t("expired")); else live();
          }, function () { live(); });
        }, 1000);
      }
    };
  }

  /* ---- the case page ---- */

  function claimedLine(c) {
    var txt = c.status === "resolved" && c.resolved_by ?
      t("resolved_by", { who: c.resolved_by, ago: ago(c.resolved_at) }) :
      c.claimed_by ? t("claimed_by", { who: c.claimed_by, ago: ago(c.claimed_at) }) :
      t("unclaimed");
    $("c-claimed").textContent = txt;
  }

  function renderCase(c) {
    var safe = safeOf(c);
    var line = $("c-safe");
    line.textContent = t("safe_line_" + safe);
    line.className = "safe-line " + (safe === "yes" ? "yes" : "no");
    $("c-risk").hidden = c.risk !== "high";
    $("c-ref").textContent = c.ref;
    $("c-state").textContent = t(c.status);
    claimedLine(c);
    var number = state.revealed && state.revealed.ref === c.ref ? state.revealed.phone : "";
    $("c-phone").textContent = number || c.phone_masked || "";
    $("c-reveal").hidden = !!number;
    /* a call or text link only when the caller said it is safe */
    ["c-call", "c-sms"].forEach(function (id) {
      var a = $(id);
      a.hidden = !(number && safe === "yes");
      if (a.hidden) a.removeAttribute("href");
      else a.href = (id === "c-call" ? "tel:" : "sms:") + number;
    });
    var dl = $("c-fields");
    dl.textContent = "";
    var f = c.fields && typeof c.fields === "object" ? c.fields : {};
    [["queue", c.queue], ["lang", c.lang], ["place", f.location]].concat(
      Object.keys(f).filter(function (k) { return k !== "location" && k !== "safe_to_call"; })
        .map(function (k) { return [k, f[k]]; })).forEach(function (kv) {
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = t(kv[0]);
      dd.textContent = kv[1] == null ? "" : String(kv[1]);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    $("c-claim").disabled = c.status !== "new";
    $("c-resolve").disabled = c.status !== "claimed";
    $("c-release").disabled = c.status !== "claimed";
    $("c-note-send").disabled = c.status === "resolved";
    var ol = $("c-history");
    ol.textContent = "";
    (c.history || []).forEach(function (h) {
      var li = document.createElement("li");
      li.setAttribute("data-what", h.what);
      li.textContent = new Date(h.at).toLocaleString() + " \u2014 " + h.who + " " +
        t("h_" + h.what) + (h.n ? " \u00d7" + h.n : "");
      ol.appendChild(li);
    });
    (c.notes || []).forEach(function (n) {
      var li = document.createElement("li");
      li.className = "note";
      li.textContent = noteLine(n);
      ol.appendChild(li);
    });
  }

  function noteLine(n) {
    return new Date(n.at).toLocaleString() + " \u2014 " + n.who + ": " + n.text;
  }

  function showCase(c) {
    state.open = c;
    $("queue").hidden = true;
    $("case").hidden = false;
    renderCase(c);
  }

  function openCase(ref) {
    $("c-msg").textContent = "";
    state.revealed = null;
    return api("GET", "/api/cases/" + encodeURIComponent(ref)).then(function (r) {
      if (r.status === 200 && r.body) { state.cases[ref] = r.body; showCase(r.body); }
      else say(t("failed"));
    });
  }

  function back() {
    state.open = null;
    state.revealed = null;
    $("case").hidden = true;
    $("queue").hidden = false;
    state.unseen = 0;
    $("cue").hidden = true;
    renderCases();
  }

  /* claim / note / resolve / release / reveal on the open case. */
  function act(what, body) {
    var c = state.open;
    if (!c) return Promise.resolve();
    $("c-msg").textContent = "";
    return api("POST", "/api/cases/" + encodeURIComponent(c.ref) + "/" + what, body)
      .then(function (r) {
        if (r.status === 401) { showSignin(t("expired")); return; }
        if (r.status !== 200) {
          $("c-msg").textContent = (r.body && r.body.error) || t("failed");
          return;
        }
        if (what === "reveal") state.revealed = { ref: c.ref, phone: r.body.phone };
        if (what === "note") $("c-note").value = "";
        return api("GET", "/api/cases/" + encodeURIComponent(c.ref)).then(function (g) {
          if (g.status === 200 && g.body && state.open && state.open.ref === c.ref) {
            state.cases[c.ref] = g.body;
            showCase(g.body);
          }
        });
      }, function () { $("c-msg").textContent = t("failed"); });
  }

  function sendNote(ev) {
    if (ev) ev.preventDefault();
    var text = $("c-note").value.trim();
    $("c-note").blur();     /* the case's keys work again */
    if (text) act("note", { text: text });
  }

  function onKey(ev) {
    var tag = (ev.target && ev.target.tagName) || "";
    if (ev.target && ev.target.id === "c-note") {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) sendNote(ev);
      else if (ev.key === "Escape") ev.target.blur();
      return;
    }
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" ||
        ev.ctrlKey || ev.metaKey || ev.altKey || $("work").hidden) return;
    if (state.open) {
      if (ev.key === "c") act("claim");
      else if (ev.key === "r") act("resolve");
      else if (ev.key === "n") { ev.preventDefault(); $("c-note").focus(); }
      else if (ev.key === "Escape") back();
    } else if (ev.key === "Enter" && ev.target && ev.target.getAttribute &&
               ev.target.getAttribute("data-ref")) {
      openCase(ev.target.getAttribute("data-ref"));
    }
  }

  function onSignin(ev) {
    ev.preventDefault();
    var name = $("name").value.trim().toLowerCase();
    var pw = $("password").value;
    $("signin-button").disabled = true;
    $("signin-error").textContent = "";
    api("POST", "/api/session", { name: name, password: pw }).then(function (r) {
      $("signin-button").disabled = false;
      $("password").value = "";
      if (r.status === 200 && r.body) { say(""); showWork(r.body); return; }
      if (r.status === 429) {
        $("signin-error").textContent =
          t("limited", { s: r.headers.get("Retry-After") || "60" });
        return;
      }
      $("signin-error").textContent = r.status === 401 ? t("wrong") : t("failed");
    }, function () {
      $("signin-button").disabled = false;
      $("signin-error").textContent = t("failed");
    });
  }

  function signout(all) {
    api(all ? "POST" : "DELETE", all ? "/api/session/all" : "/api/session")
      .then(function () { showSignin(t("signed_out")); },
            function () { showSignin(t("signed_out")); });
  }

  function start() {
    var saved = null;
    try { saved = localStorage.getItem("hotline.lang"); } catch (e) { saved = null; }
    $("lang-en").addEventListener("click", function () { setLang("en"); });
    $("lang-vi").addEventListener("click", function () { setLang("vi"); });
    $("signin-form").addEventListener("submit", onSignin);
    $("refresh").addEventListener("click", loadCases);
    $("refresh").addEventListener("click", function () { superHook("reload"); });
    $("signout").addEventListener("click", function () { signout(false); });
    $("signout-all").addEventListener("click", function () { signout(true); });
    ["f-status", "f-queue", "f-lang", "f-ref"].forEach(function (id) {
      $(id).addEventListener("input", renderCases);
    });
    $("case-rows").addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr[data-ref]");
      if (tr) openCase(tr.getAttribute("data-ref"));
    });
    $("c-claim").addEventListener("click", function () { act("claim"); });
    $("c-resolve").addEventListener("click", function () { act("resolve"); });
    $("c-release").addEventListener("click", function () { act("release"); });
    $("c-reveal").addEventListener("click", function () { act("reveal"); });
    $("c-back").addEventListener("click", back);
    $("c-note-form").addEventListener("submit", sendNote);
    document.addEventListener("keydown", onKey);
    setLang(saved || "en");
    say(t("loading"));
    api("GET", "/api/session").then(function (r) {
      if (r.status === 200 && r.body) { say(""); showWork(r.body); }
      else showSignin("");
    }, function () { showSignin(t("failed")); });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
