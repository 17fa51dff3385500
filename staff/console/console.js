/*
 * console.js: the hotline staff console (no build step, nothing from
 * another host). Signs a person in with POST /api/session (the session is an
 * HttpOnly cookie; the CSRF token the answer carries goes in X-CSRF-Token on
 * every call that changes something), then lists the help requests of
 * GET /api/cases. The phone number is never put in the page.
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
      d: "d"
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
      d: "ngày"
    }
  };

  var state = { lang: "en", csrf: null, who: null, cases: [], timer: null };

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
    ["en", "vi"].forEach(function (l) {
      $("lang-" + l).setAttribute("aria-pressed", String(l === state.lang));
    });
    if (state.who) showWho();
    renderCases();
  }

  function say(msg) { $("status").textContent = msg || ""; }

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
    state.cases = [];
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    $("work").hidden = true;
    $("signin").hidden = false;
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
    loadCases();
    if (!state.timer) state.timer = setInterval(loadCases, 10000);
  }

  function waited(created) {
    var s = Math.max(0, (Date.now() - Number(created)) / 1000);
    if (!isFinite(s)) return "";
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
   * only for "yes" (older servers sent the word); the raw answer is in
   * fields.safe_to_call. Anything but a clear yes is not safe. */
  function safeOf(c, fields) {
    if (c.safe_to_call === true || c.safe_to_call === "yes") return "yes";
    if (fields.safe_to_call === "no" || c.safe_to_call === "no") return "no";
    return "unknown";
  }

  /* Riskiest first, then the longest waiting. */
  function order(a, b) {
    var ra = a.risk === "high" ? 0 : 1, rb = b.risk === "high" ? 0 : 1;
    if (ra !== rb) return ra - rb;
    return Number(a.created || 0) - Number(b.created || 0);
  }

  function renderCases() {
    var tbody = $("case-rows");
    var list = state.cases.slice().sort(order);
    tbody.textContent = "";
    list.forEach(function (c) {
      var tr = document.createElement("tr");
      var fields = c.fields && typeof c.fields === "object" ? c.fields : {};
      var place = fields.location || "";
      tr.className = "case" + (c.risk === "high" ? " risk-high" : "");
      tr.setAttribute("data-ref", c.ref || "");
      cell(tr, c.ref, "ref");
      cell(tr, t(c.status) || c.status, "state");
      cell(tr, c.queue);
      cell(tr, c.lang);
      cell(tr, place);
      cell(tr, waited(c.created));
      var safe = safeOf(c, fields);
      cell(tr, t(safe), "safe-" + safe);
      tbody.appendChild(tr);
    });
    $("no-cases").hidden = list.length !== 0;
  }

  /* The list may come as an array, or as {"cases": [...]} (with more keys
   * once the API pages): take either. */
  function casesOf(body) {
    if (Array.isArray(body)) return body;
    if (body && Array.isArray(body.cases)) return body.cases;
    return [];
  }

  function loadCases() {
    return api("GET", "/api/cases").then(function (r) {
      if (r.status === 401) { showSignin(t("expired")); return; }
      if (r.status !== 200) { say(t("failed")); return; }
      state.cases = casesOf(r.body);
      renderCases();
      say(t("updated", { t: new Date().toLocaleTimeString() }));
    }, function () { say(t("failed")); });
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
    $("signout").addEventListener("click", function () { signout(false); });
    $("signout-all").addEventListener("click", function () { signout(true); });
    setLang(saved || "en");
    say(t("loading"));
    api("GET", "/api/session").then(function (r) {
      if (r.status === 200 && r.body) { say(""); showWork(r.body); }
      else showSignin("");
    }, function () { showSignin(t("failed")); });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
