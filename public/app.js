// BrowserGrid admin UI behaviour: live parts over server-sent events, ticking durations, local
// times, copy buttons and confirmations. No inline script anywhere (the CSP forbids it), no
// eval; every page works without this file, only less live.
(function () {
  "use strict";

  // ---- live parts: <div data-sse="/x/stream?v=…" data-sse-parts="id1 id2"> ----
  var sources = [];
  function openStreams() {
    document.querySelectorAll("[data-sse]").forEach(function (el) {
      var es = new EventSource(el.getAttribute("data-sse"));
      (el.getAttribute("data-sse-parts") || "").split(/\s+/).forEach(function (id) {
        if (!id) return;
        es.addEventListener(id, function (ev) {
          var target = document.getElementById(id);
          if (!target) return;
          var active = document.activeElement && target.contains(document.activeElement) ? document.activeElement.id : null;
          target.innerHTML = ev.data;
          if (window.htmx) window.htmx.process(target);
          if (active && document.getElementById(active)) document.getElementById(active).focus();
          refresh(target);
        });
      });
      sources.push(es);
    });
  }
  function closeStreams() {
    sources.forEach(function (es) { es.close(); });
    sources = [];
  }
  // A hidden tab needs no updates: close, and reopen (the server then catches up) when shown.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) closeStreams();
    else if (!sources.length) openStreams();
  });
  window.addEventListener("pagehide", closeStreams);

  // ---- durations: <span data-started-at data-ms="…"> ticks unless data-ended-at is set ----
  var firstSeen = new WeakMap();
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function formatDuration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return h ? h + ":" + pad(m) + ":" + pad(s % 60) : m + ":" + pad(s % 60);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-started-at]:not([data-ended-at])").forEach(function (el) {
      if (!firstSeen.has(el)) firstSeen.set(el, now);
      // Server-measured duration at render + time since: immune to a skewed client clock.
      var ms = Number(el.getAttribute("data-ms") || 0) + (now - firstSeen.get(el));
      el.textContent = formatDuration(ms);
    });
  }

  // ---- times in the reader's zone ----
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) {
        t.title = t.getAttribute("datetime");
        t.textContent = d.toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
      }
    });
  }

  function refresh(root) {
    localTimes(root);
    tick();
  }

  // ---- copy buttons: <button data-copy="element-id"> ----
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-copy]");
    if (!btn) return;
    var src = document.getElementById(btn.getAttribute("data-copy"));
    if (!src) return;
    var text = src.value !== undefined ? src.value : src.textContent;
    function done(ok) {
      var old = btn.getAttribute("data-label") || btn.textContent;
      btn.setAttribute("data-label", old);
      btn.textContent = ok ? "Copied" : "Select and copy";
      setTimeout(function () { btn.textContent = old; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    else {
      var range = document.createRange();
      range.selectNodeContents(src);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) {}
      done(ok);
    }
  });

  // ---- confirmations for destructive plain forms: <form data-confirm="…"> ----
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  }, true);

  function init() {
    refresh(document);
    openStreams();
    setInterval(tick, 1000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
