// Keeps the inbox page live. It listens to the inbox's event stream (the
// API's, which knows the web login) from the newest item the page drew;
// on a new item it fetches the page again and swaps the list in, so the
// items are drawn by the server's template only.
(function () {
  "use strict";
  var box = document.getElementById("inbox");
  if (!box || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var busy = false, again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.pathname + location.search, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("inbox");
        if (fresh) {
          var open = {};
          box.querySelectorAll("details.dismiss[open]").forEach(function (d) { open[d.closest("[data-item]").dataset.item] = true; });
          box.replaceChildren.apply(box, Array.prototype.slice.call(fresh.childNodes));
          box.querySelectorAll("details.dismiss").forEach(function (d) {
            if (open[d.closest("[data-item]").dataset.item]) { d.open = true; }
          });
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  var es = new EventSource(box.dataset.stream);
  es.addEventListener("ready", function () {
    box.dataset.live = "true";
    var note = document.getElementById("inbox-live");
    if (note) { note.hidden = false; }
  });
  es.addEventListener("notification", refresh);
  es.addEventListener("resync", refresh);
  window.addEventListener("pagehide", function () { es.close(); });
})();
