// The live view: frames from a server-sent event stream drawn into an <img>; with control,
// pointer, wheel and key events sent back one at a time (in order) as small JSON POSTs.
// The stream is closed while the tab is hidden, so nobody's browser screencasts for a
// background tab.
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root) return;
  var card = root.closest("section") || document;
  var img = root.querySelector("[data-live-img]");
  var placeholder = root.querySelector("[data-live-placeholder]");
  var stateEl = card.querySelector("[data-live-state]");
  var controlBtn = card.querySelector("[data-live-control]");
  var tabsSel = card.querySelector("[data-live-tabs]");
  var tabName = card.querySelector("[data-live-tabname]");
  var navForm = card.querySelector("[data-live-nav]");
  var streamUrl = root.getAttribute("data-stream");
  var inputUrl = root.getAttribute("data-input");
  var es = null, ended = false, controlling = false;

  function setState(text) { if (stateEl) stateEl.textContent = text; }

  function open() {
    if (es || ended) return;
    setState("Connecting…");
    es = new EventSource(streamUrl);
    es.addEventListener("frame", function (ev) {
      img.src = "data:image/jpeg;base64," + ev.data;
      if (img.hidden) { img.hidden = false; if (placeholder) placeholder.hidden = true; }
      root.setAttribute("data-frames", String(Number(root.getAttribute("data-frames") || 0) + 1));
      setState(controlling ? "Live · you are in control (Tab leaves the view)" : "Live");
    });
    es.addEventListener("tabs", function (ev) {
      var tabs = JSON.parse(ev.data).tabs || [];
      var active = tabs.filter(function (t) { return t.active; })[0];
      if (tabName) tabName.textContent = active ? active.title : "";
      if (tabsSel) {
        tabsSel.textContent = "";
        tabs.forEach(function (t) {
          var o = document.createElement("option");
          o.value = t.id;
          o.textContent = t.title.slice(0, 60);
          o.selected = !!t.active;
          tabsSel.appendChild(o);
        });
      }
      if (navForm && active && document.activeElement !== navForm.url) navForm.url.value = active.url;
    });
    es.addEventListener("ended", function (ev) {
      ended = true;
      setState(ev.data || "The session has ended.");
      root.classList.add("ended");
      setControl(false);
      if (controlBtn) controlBtn.disabled = true;
      close();
    });
    es.onerror = function () { if (!ended) setState("Reconnecting…"); };
  }
  function close() { if (es) { es.close(); es = null; } }

  document.addEventListener("visibilitychange", function () { if (document.hidden) close(); else open(); });
  window.addEventListener("pagehide", close);
  open();

  if (!inputUrl) return;

  // ---- control ----
  var queue = [], sending = false;
  function send(msg) {
    var last = queue[queue.length - 1];
    if (msg.type === "mouse" && msg.action === "move" && last && last.type === "mouse" && last.action === "move") queue[queue.length - 1] = msg;
    else queue.push(msg);
    pump();
  }
  function pump() {
    if (sending || !queue.length) return;
    sending = true;
    var msg = queue.shift();
    fetch(inputUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(msg), credentials: "same-origin" })
      .then(function (res) { if (!res.ok && res.status !== 409) return res.json().then(function (b) { setState((b.error && b.error.message) || "Input refused."); }); })
      .catch(function () { setState("Input could not be sent."); })
      .then(function () { sending = false; pump(); });
  }
  function mods(e) { return (e.altKey ? 1 : 0) | (e.ctrlKey ? 2 : 0) | (e.metaKey ? 4 : 0) | (e.shiftKey ? 8 : 0); }
  function pos(e) {
    var r = img.getBoundingClientRect();
    return { x: Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), y: Math.min(1, Math.max(0, (e.clientY - r.top) / r.height)) };
  }
  var BUTTONS = ["left", "middle", "right"], lastMove = 0;

  function setControl(on) {
    controlling = on;
    root.classList.toggle("controlling", on);
    if (controlBtn) { controlBtn.setAttribute("aria-pressed", on ? "true" : "false"); controlBtn.textContent = on ? "Release control" : "Take control"; }
    if (tabsSel) tabsSel.disabled = !on;
    if (navForm) Array.prototype.forEach.call(navForm.elements, function (el) { el.disabled = !on; });
    if (on) root.focus();
    setState(on ? "Live · you are in control (Tab leaves the view)" : "Live");
  }
  if (controlBtn) controlBtn.addEventListener("click", function () { setControl(!controlling); });

  img.addEventListener("pointerdown", function (e) {
    if (!controlling) return;
    e.preventDefault();
    root.focus();
    var p = pos(e);
    send({ type: "mouse", action: "down", x: p.x, y: p.y, button: BUTTONS[e.button] || "left", clicks: Math.max(1, Math.min(3, e.detail || 1)), modifiers: mods(e) });
  });
  img.addEventListener("pointerup", function (e) {
    if (!controlling) return;
    e.preventDefault();
    var p = pos(e);
    send({ type: "mouse", action: "up", x: p.x, y: p.y, button: BUTTONS[e.button] || "left", clicks: Math.max(1, Math.min(3, e.detail || 1)), modifiers: mods(e) });
  });
  img.addEventListener("pointermove", function (e) {
    if (!controlling) return;
    var now = Date.now();
    if (now - lastMove < 50) return;
    lastMove = now;
    var p = pos(e);
    send({ type: "mouse", action: "move", x: p.x, y: p.y, modifiers: mods(e) });
  });
  img.addEventListener("wheel", function (e) {
    if (!controlling) return;
    e.preventDefault();
    var p = pos(e);
    send({ type: "mouse", action: "wheel", x: p.x, y: p.y, dx: Math.round(e.deltaX), dy: Math.round(e.deltaY), modifiers: mods(e) });
  }, { passive: false });
  img.addEventListener("contextmenu", function (e) { if (controlling) e.preventDefault(); });
  img.addEventListener("dragstart", function (e) { e.preventDefault(); });

  function key(action) {
    return function (e) {
      if (!controlling || e.key === "Tab") return; // Tab moves focus out: the view never traps the keyboard
      e.preventDefault();
      send({ type: "key", action: action, key: e.key.slice(0, 32), code: (e.code || "").slice(0, 32), keyCode: e.keyCode & 255, text: e.key.length === 1 ? e.key : undefined, modifiers: mods(e) });
    };
  }
  root.addEventListener("keydown", key("down"));
  root.addEventListener("keyup", key("up"));
  root.addEventListener("paste", function (e) {
    if (!controlling) return;
    e.preventDefault();
    var text = (e.clipboardData && e.clipboardData.getData("text")) || "";
    if (text) send({ type: "text", text: text.slice(0, 2000) });
  });
  if (tabsSel) tabsSel.addEventListener("change", function () { send({ type: "tab", targetId: tabsSel.value }); });
  if (navForm) navForm.addEventListener("submit", function (e) {
    e.preventDefault();
    if (navForm.url.value.trim()) send({ type: "navigate", url: navForm.url.value.trim() });
  });
})();
