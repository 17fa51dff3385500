/*
 * super.js: the supervisor view of the staff console (issue 14, item 5),
 * kept apart from console.js, which calls window.hotlineSuper's hooks
 * (start, stop, event, lang) and lends its api() function. Shown only to
 * role "supervisor" (the API answers 403 to anyone else): open cases and
 * the oldest waiting per queue, time-to-claim and time-to-resolve today
 * (median, p90), the claimed cases with Reassign, and the alerts that
 * could not be delivered with Retry. Never a phone number: the replies
 * hold none.
 */
"use strict";

(function () {
  var T = {
    en: {
      title: "Supervisor view",
      ttc: "Time to claim today",
      ttr: "Time to resolve today",
      figs: "median {m}, 90% within {p} (cases: {n})",
      nofigs: "no cases yet today",
      queue: "Queue", new: "New", claimed: "Claimed", oldest: "Oldest waiting",
      claimed_cases: "Claimed cases",
      ref: "Reference", by: "Claimed by", to: "Reassign to",
      reassign: "Reassign",
      reassigned: "{ref} reassigned to {to}.",
      dead: "Alerts that could not be delivered",
      attempts: "Attempts", when: "When", error: "Last error",
      retry: "Retry", retry_all: "Retry all",
      retried: "Sent again: {n}. Dropped (case resolved): {d}.",
      none: "None.", no_open: "No open cases.",
      more: "Only the first ones are shown.",
      failed: "The server did not answer. Try again.",
      s: "s", min: "min", h: "h", d: "d"
    },
    vi: {
      title: "Giám sát",
      ttc: "Thời gian đến khi nhận hôm nay",
      ttr: "Thời gian đến khi xong hôm nay",
      figs: "trung vị {m}, 90% trong vòng {p} ({n} hồ sơ)",
      nofigs: "hôm nay chưa có hồ sơ",
      queue: "Hàng đợi", new: "Mới", claimed: "Đã nhận", oldest: "Chờ lâu nhất",
      claimed_cases: "Hồ sơ đã nhận",
      ref: "Mã số", by: "Người nhận", to: "Giao cho",
      reassign: "Giao lại",
      reassigned: "Đã giao {ref} cho {to}.",
      dead: "Cảnh báo không gửi được",
      attempts: "Số lần thử", when: "Lúc", error: "Lỗi cuối",
      retry: "Gửi lại", retry_all: "Gửi lại tất cả",
      retried: "Đã gửi lại: {n}. Bỏ (hồ sơ đã xong): {d}.",
      none: "Không có.", no_open: "Không có hồ sơ đang mở.",
      more: "Chỉ hiện những mục đầu tiên.",
      failed: "Máy chủ không trả lời. Hãy thử lại.",
      s: "giây", min: "phút", h: "giờ", d: "ngày"
    }
  };

  var sv = { lang: "en", api: null, on: false, timer: null, pending: null,
             summary: null, dead: null, skew: 0 };

  function $(id) { return document.getElementById(id); }

  function t(key, args) {
    var s = (T[sv.lang] && T[sv.lang][key]) || T.en[key] || key;
    Object.keys(args || {}).forEach(function (k) {
      s = s.replace("{" + k + "}", String(args[k]));
    });
    return s;
  }

  function dur(sec) {
    if (sec === null || sec === undefined || !isFinite(sec)) return "";
    if (sec < 60) return Math.round(sec) + " " + t("s");
    if (sec < 3600) return Math.round(sec / 60) + " " + t("min");
    if (sec < 86400) return (sec / 3600).toFixed(1) + " " + t("h");
    return (sec / 86400).toFixed(1) + " " + t("d");
  }

  function since(ms) {
    return dur(Math.max(0, (Date.now() + sv.skew - Number(ms)) / 1000));
  }

  function td(tr, text, cls) {
    var c = document.createElement("td");
    c.textContent = text;
    if (cls) c.className = cls;
    tr.appendChild(c);
    return c;
  }

  function button(text, cls, fn) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = text;
    b.addEventListener("click", fn);
    return b;
  }

  function figs(f) {
    if (!f || !f.count) return t("nofigs");
    return t("figs", { m: dur(f.median_s), p: dur(f.p90_s), n: f.count });
  }

  function renderSummary() {
    var s = sv.summary;
    if (!s) return;
    $("s-ttc").textContent = figs(s.time_to_claim);
    $("s-ttr").textContent = figs(s.time_to_resolve);
    var body = $("s-queue-rows");
    body.textContent = "";
    s.queues.forEach(function (q) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-queue", q.queue);
      td(tr, q.queue);
      td(tr, String(q.new), "s-new");
      td(tr, String(q.claimed), "s-claimed");
      td(tr, q.oldest_ref ? q.oldest_ref + " \u2014 " + since(q.oldest_created) : "",
         "s-oldest mono");
      body.appendChild(tr);
    });
    $("s-no-open").hidden = s.queues.length > 0;
    var dl = $("s-staff");
    dl.textContent = "";
    s.staff.forEach(function (n) {
      var o = document.createElement("option");
      o.value = n;
      dl.appendChild(o);
    });
    var cb = $("s-claimed-rows");
    cb.textContent = "";
    s.claimed.forEach(function (c) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-ref", c.ref);
      td(tr, c.ref, "mono");
      td(tr, c.queue);
      td(tr, c.claimed_by + ", " + since(c.claimed_at), "s-by");
      var cell = td(tr, "");
      var inp = document.createElement("input");
      inp.setAttribute("list", "s-staff");
      inp.setAttribute("aria-label", t("to") + " " + c.ref);
      inp.maxLength = 32;
      inp.className = "s-to";
      cell.appendChild(inp);
      cell.appendChild(button(t("reassign"), "s-reassign", function () {
        reassign(c.ref, inp.value.trim());
      }));
      cb.appendChild(tr);
    });
    $("s-claimed").hidden = s.claimed.length === 0;
  }

  function renderDead() {
    var d = sv.dead;
    if (!d) return;
    var body = $("s-dead-rows");
    body.textContent = "";
    d.dead.forEach(function (x) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-id", x.id);
      td(tr, x.ref, "mono");
      td(tr, x.queue);
      td(tr, String(x.attempts));
      td(tr, since(x.at));
      td(tr, x.error, "s-error");
      td(tr, "").appendChild(button(t("retry"), "s-retry", function () {
        retry({ id: x.id });
      }));
      body.appendChild(tr);
    });
    $("s-dead").hidden = d.dead.length === 0;
    $("s-retry-all").hidden = d.dead.length === 0;
    $("s-no-dead").hidden = d.dead.length > 0;
    $("s-more").hidden = !d.more;
  }

  function load() {
    if (!sv.on) return;
    sv.api("GET", "/api/super/summary").then(function (r) {
      if (r.status !== 200 || !r.body) return;
      sv.skew = Number(r.body.now) - Date.now() || 0;
      sv.summary = r.body;
      renderSummary();
    }, function () { $("s-msg").textContent = t("failed"); });
    sv.api("GET", "/api/super/dead").then(function (r) {
      if (r.status !== 200 || !r.body) return;
      sv.dead = r.body;
      renderDead();
    }, function () { $("s-msg").textContent = t("failed"); });
  }

  /* Live events come in bursts: one reload a second at most. */
  function soon() {
    if (!sv.on || sv.pending) return;
    sv.pending = setTimeout(function () { sv.pending = null; load(); }, 1000);
  }

  function reassign(ref, to) {
    if (!to) return;
    sv.api("POST", "/api/cases/" + encodeURIComponent(ref) + "/reassign", { to: to })
      .then(function (r) {
        $("s-msg").textContent = r.status === 200 ? t("reassigned", { ref: ref, to: to }) :
          (r.body && r.body.error) || t("failed");
        load();
      }, function () { $("s-msg").textContent = t("failed"); });
  }

  function retry(body) {
    sv.api("POST", "/api/super/dead/retry", body).then(function (r) {
      $("s-msg").textContent = r.status === 200 && r.body ?
        t("retried", { n: r.body.retried, d: r.body.dropped }) :
        (r.body && r.body.error) || t("failed");
      load();
    }, function () { $("s-msg").textContent = t("failed"); });
  }

  function setLang(lang) {
    sv.lang = T[lang] ? lang : "en";
    document.querySelectorAll("[data-s]").forEach(function (el) {
      el.textContent = t(el.getAttribute("data-s"));
    });
    renderSummary();
    renderDead();
  }

  var bound = false;

  window.hotlineSuper = {
    /* who: the session ({name, role}); api: console.js's api(). */
    start: function (who, api) {
      sv.api = api;
      sv.on = !!who && who.role === "supervisor";
      $("super").hidden = !sv.on;
      if (!sv.on) return;
      if (!bound) {
        $("s-retry-all").addEventListener("click", function () { retry({ all: true }); });
        bound = true;
      }
      load();
      if (!sv.timer) sv.timer = setInterval(function () {
        renderSummary();
        renderDead();
      }, 10000);
    },
    stop: function () {
      sv.on = false;
      sv.summary = sv.dead = null;
      if (sv.timer) { clearInterval(sv.timer); sv.timer = null; }
      if (sv.pending) { clearTimeout(sv.pending); sv.pending = null; }
      $("super").hidden = true;
    },
    event: function () { soon(); },
    reload: function () { load(); },
    lang: function (lang) { setLang(lang); }
  };
})();
