// The case maps (Leaflet, served from this site). A ".case-map" element
// says what to draw in data attributes:
//   data-tiles, data-attribution: the tile server and its credit;
//   data-feed: a GeoJSON feed of cases, one marker each, whose popup
//     links to the case page (data-open is the link's text);
//   data-lat, data-lng (data-zoom): a centre, and a marker there when
//     there is no feed;
//   data-pick: the id of a form whose lat and lng fields a click on the
//     map fills (the publish-a-case form).
// When the markers are drawn the element gets data-markers="N".
(function () {
  "use strict";
  if (!window.L) { return; }
  L.Icon.Default.imagePath = "/static/leaflet/images/";
  var china = [35.0, 105.0];

  function num(v) {
    var n = parseFloat(v);
    return isFinite(n) ? n : null;
  }

  function escapeText(s) {
    var d = document.createElement("div");
    d.textContent = s || "";
    return d.innerHTML;
  }

  function popupFor(f, openText) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var a = document.createElement("a");
    a.href = "/cases/" + encodeURIComponent(f.id);
    a.className = "map-case-link";
    a.textContent = (f.properties && f.properties.full_name) || openText;
    box.appendChild(a);
    if (f.properties && f.properties.place_name) {
      var p = document.createElement("p");
      p.textContent = f.properties.place_name;
      box.appendChild(p);
    }
    return box;
  }

  document.querySelectorAll(".case-map").forEach(function (el) {
    var d = el.dataset;
    var lat = num(d.lat), lng = num(d.lng);
    var centre = lat !== null && lng !== null ? [lat, lng] : null;
    var map = L.map(el, { scrollWheelZoom: false }).setView(centre || china, centre ? (num(d.zoom) || 10) : 4);
    L.tileLayer(d.tiles, { maxZoom: 18, attribution: escapeText(d.attribution) }).addTo(map);

    if (d.feed) {
      // The feed may be cached a minute for everyone; ask again so that
      // a case approved meanwhile shows.
      fetch(d.feed, { credentials: "same-origin", cache: "no-cache", headers: { Accept: "application/geo+json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (fc) {
          var markers = [];
          (fc.features || []).forEach(function (f) {
            if (!f.geometry || f.geometry.type !== "Point") { return; }
            var c = f.geometry.coordinates;
            var m = L.marker([c[1], c[0]], { title: (f.properties && f.properties.full_name) || "", alt: (f.properties && f.properties.full_name) || "" });
            m.bindPopup(popupFor(f, d.open));
            m.addTo(map);
            m.getElement().dataset.case = f.id;
            markers.push(m);
          });
          if (markers.length && !centre) {
            map.fitBounds(L.featureGroup(markers).getBounds().pad(0.3), { maxZoom: 12 });
          }
          el.dataset.markers = String(markers.length);
        })
        .catch(function () { el.dataset.markers = "error"; });
    } else if (centre && !d.pick) {
      L.marker(centre).addTo(map);
      el.dataset.markers = "1";
    }

    if (d.pick) {
      var form = document.getElementById(d.pick);
      var pin = centre ? L.marker(centre).addTo(map) : null;
      var put = function (ll) {
        if (pin) { pin.setLatLng(ll); } else { pin = L.marker(ll).addTo(map); }
      };
      map.on("click", function (e) {
        form.elements.namedItem("lat").value = e.latlng.lat.toFixed(6);
        form.elements.namedItem("lng").value = e.latlng.lng.toFixed(6);
        put(e.latlng);
      });
      form.addEventListener("yuncan:position", function (e) {
        var ll = [e.detail.lat, e.detail.lng];
        put(ll);
        map.setView(ll, 14);
      });
    }
  });
})();
