// Search page enhancements: autocomplete (ARIA 1.2 combobox) and "near me". Without this
// file the box is a plain field that submits, and the page says near me needs JavaScript.
// Near me and near a commune are one choice: taking one clears the other, so what she
// did last is what is searched (without JavaScript the server lets a commune win).
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); } }

  function combobox(input) {
    var list = document.getElementById("q-suggestions");
    var status = document.getElementById("q-status");
    if (!list || !window.fetch) { return; }
    var timer = null, active = -1, items = [], asked = 0;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    function close() {
      list.hidden = true; list.textContent = ""; items = []; active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function highlight(index) {
      active = index;
      for (var i = 0; i < items.length; i++) { items[i].setAttribute("aria-selected", i === index ? "true" : "false"); }
      if (index >= 0) { input.setAttribute("aria-activedescendant", items[index].id); items[index].scrollIntoView({ block: "nearest" }); }
      else { input.removeAttribute("aria-activedescendant"); }
    }
    function choose(index) {
      input.value = items[index].dataset.text;
      close();
      if (input.form.requestSubmit) { input.form.requestSubmit(); } else { input.form.submit(); }
    }
    function show(suggestions) {
      close();
      suggestions.forEach(function (s, i) {
        var li = document.createElement("li");
        li.id = "q-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.text = s.text;
        s.parts.forEach(function (part) {  // text nodes only: nothing is parsed as HTML
          var node = part[1] ? document.createElement("mark") : document.createElement("span");
          node.textContent = part[0];
          li.appendChild(node);
        });
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
        items.push(li);
      });
      if (items.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = items.length === 1 ? input.dataset.countOne : input.dataset.countMany.replace("{n}", items.length);
      }
    }
    function ask() {
      var typed = input.value.trim();
      if (typed.length < 2) { close(); return; }
      var mine = ++asked;
      fetch(input.dataset.suggest + "?q=" + encodeURIComponent(typed), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (body) { if (mine === asked && document.activeElement === input) { show(body.suggestions || []); } })
        .catch(function () { close(); });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 250); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") {
        if (!items.length) { ask(); return; }
        e.preventDefault(); highlight((active + 1) % items.length);
      } else if (e.key === "ArrowUp") {
        if (!items.length) { return; }
        e.preventDefault(); highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (e.key === "Enter") {
        if (active >= 0) { e.preventDefault(); choose(active); }
      } else if (e.key === "Escape") {
        if (items.length) { e.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  function nearMe(button) {
    var lat = document.getElementById("field-lat"), lon = document.getElementById("field-lon");
    var status = document.getElementById("near-status");
    var place = document.getElementById("field-near_area");
    if (!navigator.geolocation || !lat || !lon) { return; }
    button.parentNode.hidden = false;
    var note = document.querySelector(".no-js-only");
    if (note) { note.hidden = true; }
    button.addEventListener("click", function () {
      status.textContent = button.dataset.finding;
      navigator.geolocation.getCurrentPosition(function (position) {
        lat.value = position.coords.latitude.toFixed(5);
        lon.value = position.coords.longitude.toFixed(5);
        if (place) { place.value = ""; }
        status.textContent = button.dataset.found;
      }, function () {
        status.textContent = button.dataset.failed;
      }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 });
    });
    if (place) {
      place.addEventListener("change", function () {
        if (place.value) { lat.value = ""; lon.value = ""; status.textContent = ""; }
      });
    }
  }

  ready(function () {
    var input = document.getElementById("field-q");
    if (input && input.dataset.suggest) { combobox(input); }
    var button = document.getElementById("near-me");
    if (button) { nearMe(button); }
  });
})();
