// Heimsight web UI: the theme switch and the logs page's live tail (Server-Sent Events).
// Everything else is plain HTML, enhanced by htmx attributes when htmx is loaded.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var theme = document.getElementById("theme");
    if (theme) {
      theme.addEventListener("click", function () {
        var root = document.documentElement;
        var dark = root.dataset.theme
          ? root.dataset.theme === "dark"
          : window.matchMedia("(prefers-color-scheme: dark)").matches;
        root.dataset.theme = dark ? "light" : "dark";
        try { localStorage.setItem("heimsight-theme", root.dataset.theme); } catch (e) { /* private mode */ }
      });
    }

    // The range picker: show the custom inputs only for "Custom…", apply other choices at once.
    var range = document.querySelector("form.range select[name=range]");
    if (range) {
      var sync = function () {
        document.querySelectorAll("form.range .custom").forEach(function (el) {
          el.hidden = range.value !== "custom";
        });
      };
      sync();
      range.addEventListener("change", function () {
        sync();
        if (range.value !== "custom") range.form.submit();
      });
    }

    setupTail();
  });

  function setupTail() {
    var box = document.getElementById("tail");
    if (!box || !window.EventSource) return;
    var toggle = document.getElementById("tail-toggle");
    var pause = document.getElementById("tail-pause");
    var status = document.getElementById("tail-status");
    var rows = document.getElementById("tail-rows");
    var source = null, paused = false, buffer = [], received = 0;
    // The last record's time (its event id) and the rows shown at that time: a restart goes on
    // from there without showing a row twice.
    var lastId = "", atLastId = {};
    var MAX_ROWS = 1000;

    toggle.disabled = false;
    status.textContent = "";

    function show() {
      status.textContent = paused
        ? "paused · " + buffer.length + " waiting"
        : "live · " + received + " new";
    }

    function insert(html) {
      rows.insertAdjacentHTML("afterbegin", html);
      while (rows.children.length > MAX_ROWS) rows.removeChild(rows.lastElementChild);
    }

    function start() {
      var url = new URL(box.dataset.src, document.baseURI);
      if (lastId) url.searchParams.set("since", lastId);
      source = new EventSource(url.toString());
      source.addEventListener("ready", function () { show(); });
      source.addEventListener("log", function (e) {
        if (e.lastEventId !== lastId) {
          lastId = e.lastEventId;
          atLastId = {};
        }
        if (atLastId[e.data]) return;
        atLastId[e.data] = true;
        received++;
        if (paused) buffer.push(e.data);
        else insert(e.data);
        show();
      });
      source.addEventListener("problem", function (e) { status.textContent = "error: " + e.data; });
      source.onerror = function () { status.textContent = "reconnecting…"; };
      toggle.textContent = "■ Stop tail";
      pause.hidden = false;
      box.classList.add("live");
    }

    function stop() {
      if (source) source.close();
      source = null;
      paused = false;
      buffer = [];
      toggle.textContent = "▶ Live tail";
      pause.hidden = true;
      pause.textContent = "Pause";
      status.textContent = "stopped";
      box.classList.remove("live");
    }

    toggle.addEventListener("click", function () { if (source) stop(); else start(); });
    pause.addEventListener("click", function () {
      paused = !paused;
      pause.textContent = paused ? "Resume" : "Pause";
      if (!paused) {
        buffer.forEach(insert);
        buffer = [];
      }
      show();
    });
  }
})();
