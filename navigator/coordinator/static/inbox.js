// The inbox noticed (issue 12): keeps the open-item count on the Inbox link and in the
// title current on every page, refreshes the inbox list in place, and says when a new
// warning sign arrives, through live regions that are in the page from the start.
// Without this script every page still works: the count is right at each page load.
(function () {
  "use strict";
  var link = document.querySelector("a[data-status]");
  if (!link || !window.fetch || !window.DOMParser) { return; }
  var url = link.getAttribute("data-status");
  var every = 1000 * (parseInt(link.getAttribute("data-poll-seconds"), 10) || 30);
  var countBox = document.querySelector("[data-inbox-count]");
  var alertBox = document.querySelector("[data-inbox-alert]");
  var statusBox = document.querySelector("[data-inbox-status]");
  var list = document.getElementById("inbox-items");
  var baseTitle = document.title.replace(/^\(\d+\) /, "");
  // What this page showed when it loaded: a change since then is news.
  var last = {
    open: parseInt(link.getAttribute("data-open"), 10) || 0,
    newest_warning_sign: parseInt(link.getAttribute("data-newest-warning"), 10) || 0
  };
  var stale = false;

  function showCount(open) {
    if (countBox) {
      countBox.hidden = !open;
      countBox.querySelector(".badge").textContent = String(open);
    }
    document.title = (open ? "(" + open + ") " : "") + baseTitle;
  }

  // A nurse choosing an outcome or typing a note must not have the list swapped under her.
  function busy() {
    if (!list) { return false; }
    var active = document.activeElement;
    return Boolean(list.querySelector("details[open]")) ||
      (list.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName));
  }

  function refreshList() {
    return fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("inbox-items");
        if (fresh) { list.innerHTML = fresh.innerHTML; stale = false; }
      });
  }

  function warn() {
    alertBox.textContent = "";
    var text = document.createElement("p");
    text.className = "inbox-signal__text";
    text.textContent = "New warning sign in the inbox. ";
    var go = document.createElement("a");
    go.href = link.getAttribute("href") + "#group-red_flag";
    go.textContent = "See the warning signs";
    text.appendChild(go);
    alertBox.appendChild(text);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("json") < 0) { throw new Error("signed out"); }
        return response.json();
      })
      .then(function (now) {
        if (now.newest_warning_sign > last.newest_warning_sign) {
          warn();
        } else if (now.open > last.open) {
          statusBox.textContent = "New item in the inbox: " + now.open + " open.";
        }
        if (now.open !== last.open || now.newest_warning_sign !== last.newest_warning_sign) {
          stale = true;
        }
        last = now;
        showCount(now.open);
        if (list && stale && !busy()) { return refreshList(); }
        return null;
      })
      .then(function () { window.setTimeout(poll, every); })
      .catch(function () { /* signed out or offline: the next page load starts again */ });
  }

  window.setTimeout(poll, every);
})();
