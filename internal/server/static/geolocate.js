// Buttons that ask the browser for its position (class "geolocate"). The
// pages draw such a button only where the consent for the use is live,
// so nothing is asked for, or sent, without it. data-form names the form
// whose lat and lng fields take the position; data-source, when set, goes
// into its source field; data-submit sends the form at once; data-status
// names where to say how it goes.
(function () {
  "use strict";
  function say(el, text) {
    if (el) { el.textContent = text || ""; }
  }
  function field(form, name) { return form.elements.namedItem(name); }
  document.querySelectorAll("button.geolocate").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var form = document.getElementById(btn.dataset.form);
      var status = document.getElementById(btn.dataset.status);
      if (!form) { return; }
      if (!navigator.geolocation) {
        say(status, btn.dataset.msgUnavailable);
        return;
      }
      btn.disabled = true;
      say(status, btn.dataset.msgLocating);
      navigator.geolocation.getCurrentPosition(function (pos) {
        btn.disabled = false;
        field(form, "lat").value = pos.coords.latitude.toFixed(6);
        field(form, "lng").value = pos.coords.longitude.toFixed(6);
        if (btn.dataset.source && field(form, "source")) {
          field(form, "source").value = btn.dataset.source;
        }
        form.dispatchEvent(new CustomEvent("yuncan:position", { detail: { lat: pos.coords.latitude, lng: pos.coords.longitude } }));
        say(status, btn.dataset.msgDone || "");
        if (btn.dataset.submit) {
          form.submit();
        }
      }, function (err) {
        btn.disabled = false;
        say(status, err && err.code === 1 ? btn.dataset.msgDenied : btn.dataset.msgUnavailable);
      }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 60000 });
    });
  });
})();
