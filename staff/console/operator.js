/*
 * operator.js: the console's operator pages (docs/menus.md, "The operator
 * page"), shown to operators and supervisors once console.js says who
 * signed in (hl-signin). Lists the menus and their versions (GET
 * /api/operator/menus), walks any version in a phone frame through the
 * engine (POST /api/operator/simulate: the server replays every answer,
 * nothing is stored, no help request is filed), shows the checker's
 * messages for a file, publishes it, rolls back, compares two versions and
 * shows where callers give up. Writes carry the session's CSRF token.
 */
"use strict";

(function () {
  var T = {
    en: {
      menus: "Menus", menu: "Menu", current: "Served", versions: "Versions",
      when: "Published (UTC)", by: "By", note: "Note", sum: "SHA-256",
      compare: "Compare", diff: "Show differences",
      funnel: "Where callers give up", node: "Screen", lang: "Language",
      visits: "Visits", invalid: "Invalid", back: "Back", home: "Home",
      duress: "Duress exits", dropped: "Dropped",
      simulator: "Try a menu", version: "Version", channel: "Channel",
      fold: "Fold accents", parts: "SMS parts", start: "Start", send: "Send",
      upload: "Check and publish a file", check: "Check", publish: "Publish",
      file: "the file of the menus directory", cur: "served",
      rollback: "Roll back to this", rolled: "Rolled back: now version {v}.",
      confirm_rb: "Serve version {v} of {m} to every new caller?",
      confirm_pub: "Publish {f} to every gateway?",
      published: "Published {m} version {v}.",
      unchanged: "Unchanged: version {v} of {m} is this file already.",
      refused: "Not published: the file has {n} error(s).",
      clean: "No error: {m} can be published.",
      pick: "Choose a file first.",
      ended: "The session ended here.",
      same: "The same screens.",
      none: "No caller yet.",
      page: "page {p}/{n}", failed: "The server did not answer. Try again.",
      rollback_from: "rollback to v{v}"
    },
    vi: {
      menus: "Kịch bản menu", menu: "Menu", current: "Đang dùng",
      versions: "Phiên bản", when: "Xuất bản (UTC)", by: "Người",
      note: "Ghi chú", sum: "SHA-256", compare: "So sánh",
      diff: "Xem khác biệt", funnel: "Người gọi bỏ dở ở đâu",
      node: "Màn hình", lang: "Ngôn ngữ", visits: "Lượt xem",
      invalid: "Sai", back: "Quay lại", home: "Về đầu",
      duress: "Thoát khẩn", dropped: "Bỏ dở",
      simulator: "Thử menu", version: "Phiên bản", channel: "Kênh",
      fold: "Bỏ dấu", parts: "Số phần SMS", start: "Bắt đầu", send: "Gửi",
      upload: "Kiểm tra và xuất bản tệp", check: "Kiểm tra",
      publish: "Xuất bản", file: "tệp trong thư mục menus",
      cur: "đang dùng", rollback: "Quay về bản này",
      rolled: "Đã quay về: nay là phiên bản {v}.",
      confirm_rb: "Dùng phiên bản {v} của {m} cho mọi người gọi mới?",
      confirm_pub: "Xuất bản {f} tới mọi cổng?",
      published: "Đã xuất bản {m} phiên bản {v}.",
      unchanged: "Không đổi: phiên bản {v} của {m} đã là tệp này.",
      refused: "Chưa xuất bản: tệp có {n} lỗi.",
      clean: "Không có lỗi: có thể xuất bản {m}.",
      pick: "Hãy chọn tệp trước.",
      ended: "Phiên kết thúc ở đây.",
      same: "Các màn hình giống nhau.",
      none: "Chưa có người gọi.",
      page: "trang {p}/{n}", failed: "Máy chủ không trả lời. Hãy thử lại.",
      rollback_from: "quay về v{v}"
    }
  };
  var st = { lang: "en", csrf: null, menus: [], menu: null, answers: [],
             sim: null };

  function $(id) { return document.getElementById(id); }

  function t(key, args) {
    var s = (T[st.lang] && T[st.lang][key]) || T.en[key] || key;
    Object.keys(args || {}).forEach(function (k) {
      s = s.replace("{" + k + "}", String(args[k]));
    });
    return s;
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text != null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function row(cells) {
    var tr = el("tr");
    cells.forEach(function (c) {
      var td = el("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c == null ? "" : String(c);
      tr.appendChild(td);
    });
    return tr;
  }

  /* One call: JSON or the file's bytes (raw); CSRF on writes. */
  function call(method, path, body, raw) {
    var h = { "Accept": "application/json" };
    if (method !== "GET") h["X-CSRF-Token"] = st.csrf;
    if (body !== undefined) h["Content-Type"] = raw ? "text/plain; charset=utf-8" : "application/json";
    return fetch(path, { method: method, headers: h, credentials: "same-origin",
                         cache: "no-store",
                         body: body === undefined ? undefined : raw ? body : JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (txt) {
        var js = null;
        try { js = txt ? JSON.parse(txt) : null; } catch (e) { js = null; }
        return { status: r.status, body: js };
      });
    });
  }

  function msg(text) { $("op-msg").textContent = text || ""; }
  function failed() { msg(t("failed")); }

  function utc(s) {
    return s ? new Date(s * 1000).toISOString().replace("T", " ").slice(0, 19) : "";
  }

  function translate() {
    document.querySelectorAll("[data-o]").forEach(function (e) {
      e.textContent = t(e.getAttribute("data-o"));
    });
  }

  /* ---- menus and versions ------------------------------------------ */

  function loadMenus(keep) {
    return call("GET", "/api/operator/menus").then(function (r) {
      if (r.status !== 200 || !r.body) { failed(); return; }
      st.menus = r.body.menus;
      var tb = $("op-menu-rows");
      tb.textContent = "";
      st.menus.forEach(function (m) {
        var b = el("button", m.name);
        b.type = "button";
        b.className = "op-pick";
        b.setAttribute("data-menu", m.name);
        b.addEventListener("click", function () { openMenu(m.name); });
        tb.appendChild(row([b, m.current ? "v" + m.current : t("file"),
                            m.last]));
      });
      var name = keep || (st.menu && st.menu.name) || (st.menus[0] && st.menus[0].name);
      if (name) openMenu(name);
    }, failed);
  }

  function option(sel, value, text) {
    var o = el("option", text);
    o.value = String(value);
    sel.appendChild(o);
  }

  function openMenu(name) {
    var m = st.menus.filter(function (x) { return x.name === name; })[0];
    if (!m) return;
    st.menu = m;
    $("op-menu").hidden = false;
    $("op-name").textContent = m.name;
    var tb = $("op-version-rows");
    tb.textContent = "";
    ["op-a", "op-b", "op-sim-ver"].forEach(function (id) { $(id).textContent = ""; });
    m.versions.forEach(function (v) {
      var act = el("span");
      if (v.version === m.current) {
        act.textContent = t("cur");
        act.className = "op-cur";
      } else {
        var b = el("button", t("rollback"));
        b.type = "button";
        b.setAttribute("data-rollback", v.version);
        b.addEventListener("click", function () { rollback(v.version); });
        act.appendChild(b);
      }
      var note = v.note + (v.from ? (v.note ? " " : "") + "(" + t("rollback_from", { v: v.from }) + ")" : "");
      var tr = row(["v" + v.version, utc(v.at), v.by, note, v.sum.slice(0, 12), act]);
      if (v.version === m.current) tr.className = "op-current";
      tb.appendChild(tr);
      ["op-a", "op-b", "op-sim-ver"].forEach(function (id) {
        option($(id), v.version, "v" + v.version + (v.version === m.current ? " *" : ""));
      });
    });
    if (m.file) ["op-a", "op-b", "op-sim-ver"].forEach(function (id) {
      option($(id), 0, "v0 (" + t("file") + ")");
    });
    $("op-sim-ver").value = String(m.current);
    if (m.versions.length > 1) $("op-a").value = String(m.versions[1].version);
    $("op-b").value = String(m.current);
    $("op-diff-out").hidden = true;
    $("op-funnel-table").hidden = true;
  }

  function rollback(v) {
    if (!window.confirm(t("confirm_rb", { v: v, m: st.menu.name }))) return;
    call("POST", "/api/operator/menus/" + encodeURIComponent(st.menu.name) + "/rollback",
         { version: v }).then(function (r) {
      if (r.status !== 200 || !r.body) { msg(r.body && r.body.error || t("failed")); return; }
      msg("");
      $("op-diags").textContent = "";
      $("op-msg").textContent = t("rolled", { v: r.body.version });
      $("op-msg").className = "ok";
      loadMenus(st.menu.name);
    }, failed);
  }

  function showDiff() {
    var q = "?a=" + $("op-a").value + "&b=" + $("op-b").value;
    call("GET", "/api/operator/menus/" + encodeURIComponent(st.menu.name) + "/diff" + q)
      .then(function (r) {
        if (r.status !== 200 || !r.body) { msg(r.body && r.body.error || t("failed")); return; }
        $("op-diff-out").textContent = r.body.count ? r.body.lines.join("\n") : t("same");
        $("op-diff-out").hidden = false;
      }, failed);
  }

  function showFunnel() {
    var v = $("op-b").value;
    call("GET", "/api/operator/menus/" + encodeURIComponent(st.menu.name) + "/funnel?v=" + v)
      .then(function (r) {
        if (r.status !== 200 || !r.body) { failed(); return; }
        var tb = $("op-funnel-rows");
        tb.textContent = "";
        r.body.rows.forEach(function (x) {
          tb.appendChild(row([x.node, x.lang, x.visit, x.invalid, x.back,
                              x.home, x.duress, x.dropped]));
        });
        if (!r.body.rows.length) tb.appendChild(row([t("none")]));
        $("op-funnel-table").hidden = false;
      }, failed);
  }

  /* ---- the phone frame ---------------------------------------------- */

  function simulate() {
    var req = {
      menu: st.menu ? st.menu.name : "",
      version: Number($("op-sim-ver").value),
      channel: $("op-sim-ch").value,
      fold: $("op-sim-fold").checked,
      parts: Math.max(1, Math.min(10, Number($("op-sim-parts").value) || 1)),
      answers: st.answers
    };
    var lang = $("op-sim-lang").value.trim();
    if (lang) req.lang = lang;
    if (req.channel === "ussd") req.parts = 1;
    return call("POST", "/api/operator/simulate", req).then(function (r) {
      if (r.status !== 200 || !r.body) {
        st.answers.pop();
        msg(r.body && r.body.error || t("failed"));
        return;
      }
      msg("");
      st.sim = r.body;
      showScreens(r.body);
    }, failed);
  }

  function showScreens(sim) {
    var last = sim.screens[sim.screens.length - 1];
    $("op-screen").textContent = last.text;
    $("op-screen").className = "screen" + (last.invalid ? " invalid" : "");
    var meter = last.units + " / " + last.limit + " " + last.encoding + ", " +
      t("page", { p: last.page, n: last.pages }) +
      (last.segments ? ", SMS \u00d7" + last.segments : "");
    $("op-meter").textContent = meter + (last.end ? " \u2014 " + t("ended") : "");
    $("op-meter").className = "meter" + (last.units > last.limit ? " over" : "");
    $("op-answer").disabled = last.end;
    $("op-send").disabled = last.end;
    var ol = $("op-trail");
    ol.textContent = "";
    sim.screens.forEach(function (s) {
      var li = el("li");
      if (s.input !== null) li.appendChild(el("b", "\u2192 " + s.input + "  "));
      li.appendChild(el("span", s.node + " (" + s.units + "/" + s.limit + " " + s.encoding + ")"));
      ol.appendChild(li);
    });
    if (!last.end) $("op-answer").focus();
  }

  function startSim(ev) {
    if (ev) ev.preventDefault();
    st.answers = [];
    simulate();
  }

  function answer(ev) {
    ev.preventDefault();
    var a = $("op-answer").value;
    $("op-answer").value = "";
    st.answers.push(a);
    simulate();
  }

  /* ---- check and publish -------------------------------------------- */

  function showDiags(list) {
    var ul = $("op-diags");
    ul.textContent = "";
    (list || []).forEach(function (d) {
      var li = el("li", d.text, d.severity === "error" ? "op-err" : "op-warn");
      li.setAttribute("data-line", d.line);
      ul.appendChild(li);
    });
  }

  function upload(publish) {
    var f = $("op-file").files[0];
    $("op-msg").className = "error";
    if (!f) { msg(t("pick")); return; }
    if (publish && !window.confirm(t("confirm_pub", { f: f.name }))) return;
    f.text().then(function (text) {
      var path = publish ? "/api/operator/publish?note=" +
        encodeURIComponent($("op-note").value.trim()) : "/api/operator/check";
      return call("POST", path, text, true);
    }).then(function (r) {
      var b = r.body || {};
      showDiags(b.messages);
      if (r.status === 422 || (r.status === 200 && b.ok === false)) {
        msg(t("refused", { n: b.errors }));
        return;
      }
      if (r.status !== 200) { msg(b.error || t("failed")); return; }
      $("op-msg").className = "ok";
      if (!publish) { $("op-msg").textContent = t("clean", { m: b.name }); return; }
      $("op-msg").textContent = t(b.unchanged ? "unchanged" : "published",
                                  { m: b.name, v: b.version });
      $("op-note").value = "";
      loadMenus(b.name);
    }, failed);
  }

  /* ---- wiring --------------------------------------------------------- */

  document.addEventListener("hl-signin", function (ev) {
    var who = ev.detail || {};
    var ok = who.role === "operator" || who.role === "supervisor";
    st.csrf = who.csrf;
    $("op").hidden = !ok;
    if (ok) loadMenus();
  });
  document.addEventListener("hl-signout", function () {
    st.csrf = null;
    st.menus = [];
    st.menu = null;
    $("op").hidden = true;
  });
  document.addEventListener("hl-lang", function (ev) {
    st.lang = T[ev.detail] ? ev.detail : "en";
    translate();
    if (st.menu) openMenu(st.menu.name);
  });
  document.addEventListener("DOMContentLoaded", function () {
    $("op-diff").addEventListener("click", showDiff);
    $("op-funnel").addEventListener("click", showFunnel);
    $("op-sim-form").addEventListener("submit", startSim);
    $("op-answer-form").addEventListener("submit", answer);
    $("op-check").addEventListener("click", function () { upload(false); });
    $("op-up-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      upload(true);
    });
  });
})();
