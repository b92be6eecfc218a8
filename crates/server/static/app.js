// Second Story: our own small script. Every page works without it; this adds times in the
// viewer's zone, the blameless coach as you type, upload progress, and drag-to-zoom.
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  // ---- times in the viewer's zone; the title keeps UTC
  var zone = "UTC";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { /* keep UTC */ }
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
    });
  } catch (e) { fmt = null; }
  if (fmt) {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d.getTime())) { el.textContent = fmt.format(d); }
    });
  }
  document.querySelectorAll("[data-auto-tz]").forEach(function (el) {
    if (!el.value || el.value === "UTC") { el.value = zone; }
  });

  // ---- the blameless coach
  var body = document.getElementById("review-body");
  var highlights = document.getElementById("highlights");
  var list = document.getElementById("coach-findings");
  var counts = document.getElementById("coach-counts");
  var summary = document.getElementById("coach-summary");
  var findings = [];
  var timer = null;
  var seq = 0;

  function escapeHtml(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function paintMarks() {
    if (!highlights) { return; }
    var text = body.value;
    var html = "";
    var pos = 0;
    findings.slice().sort(function (a, b) { return a.start_utf16 - b.start_utf16; }).forEach(function (f, i) {
      if (f.start_utf16 < pos) { return; }
      html += escapeHtml(text.slice(pos, f.start_utf16));
      html += '<mark data-i="' + i + '">' + escapeHtml(text.slice(f.start_utf16, f.end_utf16)) + "</mark>";
      pos = f.end_utf16;
    });
    html += escapeHtml(text.slice(pos)) + "\n";
    highlights.innerHTML = html;
    syncScroll();
  }

  function syncScroll() {
    if (highlights) { highlights.parentNode.scrollTop = body.scrollTop; }
  }

  function applyFix(f) {
    var text = body.value;
    body.value = text.slice(0, f.replace_start_utf16) + f.replacement + text.slice(f.replace_end_utf16);
    body.focus();
    var at = f.replace_start_utf16 + f.replacement.length;
    body.setSelectionRange(at, at);
    lint();
  }

  function select(f) {
    body.focus();
    body.setSelectionRange(f.start_utf16, f.end_utf16);
  }

  function renderFindings() {
    var byCategory = {};
    list.textContent = "";
    findings.forEach(function (f, i) {
      byCategory[f.category] = (byCategory[f.category] || 0) + 1;
      var li = document.createElement("li");
      li.className = "finding cat-" + f.category;
      var head = document.createElement("p");
      var show = document.createElement("button");
      show.type = "button";
      show.className = "link";
      show.textContent = "\u201c" + f.matched + "\u201d";
      show.setAttribute("aria-label", "Select \u201c" + f.matched + "\u201d on line " + f.line);
      show.addEventListener("click", function () { select(f); });
      head.appendChild(show);
      var meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = " line " + f.line + " \u00b7 " + f.category;
      head.appendChild(meta);
      li.appendChild(head);
      var msg = document.createElement("p");
      msg.textContent = f.message;
      li.appendChild(msg);
      var re = document.createElement("p");
      re.className = "reframe";
      re.textContent = "Try: " + f.reframe;
      li.appendChild(re);
      if (f.replacement !== null && f.replacement !== undefined) {
        var apply = document.createElement("button");
        apply.type = "button";
        apply.className = "small apply";
        apply.textContent = "Apply suggestion";
        apply.setAttribute("aria-label", f.replacement === "" ? "Apply suggestion: remove \u201c" + f.matched + "\u201d" : "Apply suggestion: \u201c" + f.replacement + "\u201d");
        apply.addEventListener("click", function () { applyFix(f); });
        li.appendChild(apply);
      }
      li.addEventListener("mouseenter", function () { mark(i, true); });
      li.addEventListener("mouseleave", function () { mark(i, false); });
      li.addEventListener("focusin", function () { mark(i, true); });
      li.addEventListener("focusout", function () { mark(i, false); });
      list.appendChild(li);
    });
    counts.textContent = "";
    Object.keys(byCategory).sort().forEach(function (c) {
      var li = document.createElement("li");
      var badge = document.createElement("span");
      badge.className = "badge cat-" + c;
      badge.textContent = c;
      li.appendChild(badge);
      li.appendChild(document.createTextNode(" " + byCategory[c]));
      counts.appendChild(li);
    });
    summary.textContent = findings.length === 0
      ? "No wording to look at again."
      : findings.length + " place(s) to look at again.";
    paintMarks();
  }

  function mark(i, on) {
    if (!highlights) { return; }
    var sorted = findings.slice().sort(function (a, b) { return a.start_utf16 - b.start_utf16; });
    var idx = sorted.indexOf(findings[i]);
    var m = highlights.querySelector('mark[data-i="' + idx + '"]');
    if (m) { m.classList.toggle("active", on); }
  }

  function lint() {
    var mine = ++seq;
    fetch("/api/v1/lint", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ text: body.value })
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || mine !== seq) { return; }
        findings = data.findings.filter(function (f) { return !f.quoted; });
        renderFindings();
      })
      .catch(function () { /* the Check wording button still works */ });
  }

  if (body && list && document.getElementById("review-form")) {
    body.addEventListener("input", function () {
      paintMarks();
      clearTimeout(timer);
      timer = setTimeout(lint, 300);
    });
    body.addEventListener("scroll", syncScroll);
    lint();
    var previewButton = document.getElementById("preview-button");
    var preview = document.getElementById("preview");
    if (previewButton && preview) {
      previewButton.hidden = false;
      previewButton.addEventListener("click", function () {
        // A plain-text preview of headings and paragraphs; the saved review is rendered by the server.
        preview.hidden = !preview.hidden;
        previewButton.textContent = preview.hidden ? "Preview" : "Hide preview";
        if (preview.hidden) { return; }
        preview.textContent = "";
        body.value.replace(/<!--[\s\S]*?-->/g, "").split(/\n{2,}/).forEach(function (block) {
          block = block.trim();
          if (!block) { return; }
          var m = /^(#{1,6})\s+(.*)$/.exec(block);
          var el = document.createElement(m ? "h" + Math.min(6, m[1].length + 1) : "p");
          el.textContent = m ? m[2] : block;
          preview.appendChild(el);
        });
      });
    }
  }

  // ---- import with upload progress
  var form = document.getElementById("import-form");
  if (form && window.FormData && window.XMLHttpRequest) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var wrap = document.getElementById("import-progress-wrap");
      var bar = document.getElementById("import-progress");
      var label = document.getElementById("import-progress-text");
      var error = document.getElementById("import-error");
      var button = form.querySelector('button[type="submit"]');
      wrap.hidden = false;
      error.hidden = true;
      button.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          var pct = Math.round(e.loaded / e.total * 100);
          bar.value = pct;
          label.textContent = pct + "% uploaded";
        }
      };
      xhr.upload.onload = function () { bar.value = 100; label.textContent = "Uploaded; importing\u2026"; };
      xhr.onload = function () {
        button.disabled = false;
        if (xhr.status < 400) {
          window.location.assign(xhr.responseURL + "#import-summary");
          return;
        }
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var problem = doc.querySelector(".problem");
        error.textContent = problem ? problem.textContent : "The import failed (" + xhr.status + ").";
        error.hidden = false;
        label.textContent = "";
      };
      xhr.onerror = function () {
        button.disabled = false;
        error.textContent = "The upload did not reach the server.";
        error.hidden = false;
      };
      xhr.send(new FormData(form));
    });
  }

  // ---- drag across the timeline to zoom to that range
  var wrapSvg = document.getElementById("timeline-svg");
  var svg = wrapSvg && wrapSvg.querySelector("svg");
  if (svg) {
    var from = Date.parse(wrapSvg.getAttribute("data-from"));
    var to = Date.parse(wrapSvg.getAttribute("data-to"));
    var LABEL = 90, WIDTH = 1000, PLOT = WIDTH - LABEL - 14;
    var start = null, brush = null;
    var toX = function (ev) {
      var r = svg.getBoundingClientRect();
      return (ev.clientX - r.left) / r.width * WIDTH;
    };
    var timeAt = function (x) { return new Date(from + (Math.max(LABEL, Math.min(LABEL + PLOT, x)) - LABEL) / PLOT * (to - from)); };
    svg.addEventListener("mousedown", function (ev) {
      if (ev.target.closest("a")) { return; }
      start = toX(ev);
      brush = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      brush.setAttribute("class", "brush");
      brush.setAttribute("y", "0");
      brush.setAttribute("height", svg.viewBox.baseVal.height);
      brush.setAttribute("x", start);
      brush.setAttribute("width", "0");
      svg.appendChild(brush);
      ev.preventDefault();
    });
    svg.addEventListener("mousemove", function (ev) {
      if (start === null) { return; }
      var x = toX(ev);
      brush.setAttribute("x", Math.min(start, x));
      brush.setAttribute("width", Math.abs(x - start));
    });
    window.addEventListener("mouseup", function (ev) {
      if (start === null) { return; }
      var x = toX(ev);
      var a = Math.min(start, x), b = Math.max(start, x);
      start = null;
      if (brush) { brush.remove(); brush = null; }
      if (b - a < 5) { return; }
      var iso = function (d) { return d.toISOString().replace(/\.\d+Z$/, "Z"); };
      window.location.assign("?from=" + encodeURIComponent(iso(timeAt(a))) + "&to=" + encodeURIComponent(iso(timeAt(b))) + "#timeline");
    });
  }
})();
