// Haven portal: live inbox and live referral status. The pages work without this file
// (a Refresh link, a reload); it only saves the reload. Polls are "passive" on the
// server: an open tab does not keep a shared computer signed in.
(function () {
  "use strict";
  var EVERY = 2500; // ms: a new referral shows within 5 s
  var FULL_EVERY = 60000; // the list again once a minute, so "time left" stays true

  function getJson(url, done) {
    var request = new XMLHttpRequest();
    request.open("GET", url, true);
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      var type = request.getResponseHeader("Content-Type") || "";
      if (request.status !== 200 || type.indexOf("application/json") !== 0) { done(null, request.status); return; }
      try { done(JSON.parse(request.responseText), 200); } catch (e) { done(null, 0); }
    };
    request.onerror = function () { done(null, 0); };
    request.send();
  }

  // Polls while the tab is visible; stops for good when the session has ended (the
  // answer is then the sign-in page, not JSON), so the person signs in on their next click.
  function poll(step) {
    var stopped = false;
    function again() { if (!stopped) { window.setTimeout(tick, EVERY); } }
    function tick() {
      if (document.hidden) { again(); return; }
      step(function (keepGoing) { if (keepGoing === false) { stopped = true; } again(); });
    }
    again();
  }

  function setUnread(count) {
    var box = document.getElementById("unread");
    var number = document.getElementById("unread-count");
    if (!box || !number || typeof count !== "number") { return; }
    number.textContent = String(count);
    box.hidden = count === 0;
  }

  function ids(root) {
    var found = {};
    var items = root.querySelectorAll("[data-referral-id]");
    for (var i = 0; i < items.length; i++) { found[items[i].getAttribute("data-referral-id")] = true; }
    return found;
  }

  function liveInbox(list) {
    var announce = document.getElementById("live-announce");
    var fingerprint = list.getAttribute("data-fingerprint") || "";
    var lastFull = Date.now();
    poll(function (next) {
      var full = Date.now() - lastFull > FULL_EVERY;
      var url = list.getAttribute("data-updates-url") + "?since=" + encodeURIComponent(fingerprint) + (full ? "&full=1" : "");
      getJson(url, function (answer, status) {
        if (!answer) { next(status !== 302 && status !== 401 && status !== 200 && status !== 403); return; }
        setUnread(answer.unread);
        if (typeof answer.html === "string") {
          lastFull = Date.now();
          var before = ids(list);
          var focused = document.activeElement && list.contains(document.activeElement)
            ? document.activeElement.getAttribute("href") : null;
          list.innerHTML = answer.html;
          fingerprint = answer.fingerprint || "";
          list.setAttribute("data-fingerprint", fingerprint);
          if (focused) { // keep a keyboard user's place
            var again = list.querySelector("a[href='" + focused + "']");
            if (again) { again.focus(); }
          }
          var after = ids(list);
          var arrived = 0;
          for (var id in after) { if (after.hasOwnProperty(id) && !before[id]) { arrived++; } }
          if (arrived > 0 && announce) {
            announce.textContent = arrived === 1 ? announce.getAttribute("data-one")
              : announce.getAttribute("data-many").replace("{n}", String(arrived));
            announce.hidden = false;
          }
        }
        next(true);
      });
    });
  }

  var FINAL = { completed: true, cancelled: true, declined: true }; // no status comes after these

  function liveStatus(block) {
    var notice = document.getElementById("status-changed");
    var known = block.getAttribute("data-known") || "";
    if (FINAL[known]) { return; }
    poll(function (next) {
      var url = block.getAttribute("data-status-url") + "?created=" + encodeURIComponent(block.getAttribute("data-created") || "")
        + "&known=" + encodeURIComponent(known);
      getJson(url, function (answer, status) {
        if (!answer) { next(status !== 302 && status !== 401 && status !== 200 && status !== 403 && status !== 400); return; }
        if (answer.changed && typeof answer.html === "string") {
          block.innerHTML = answer.html;
          known = answer.status || "";
          block.setAttribute("data-known", known);
          if (notice) { notice.hidden = false; }
        }
        next(!FINAL[known]);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    // "This changed meanwhile" is read first (as an error summary is).
    var conflict = document.getElementById("conflict");
    if (conflict && !document.getElementById("error-summary")) { conflict.focus(); }
    var list = document.getElementById("inbox-list");
    if (list && list.getAttribute("data-updates-url")) { liveInbox(list); }
    var block = document.getElementById("referral-status");
    if (block && block.getAttribute("data-status-url")) { liveStatus(block); }
  });
})();
