// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", function () {
  // A rejected form: move focus to the list of problems so screen readers read it.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  // Try-it: keep the newest line of the conversation in view.
  var screen = document.querySelector(".screen");
  if (screen) { screen.scrollTop = screen.scrollHeight; }
});

// A live character counter for any field with data-counter="<id of its hint>" and a
// data-max (issue 12; never maxlength, which silently cuts what is pasted): what is left is shown as one types, and said to screen readers a
// moment after typing stops, never at each key. data-segments="en|es" adds how many texts
// the words make (160 characters a text in plain English letters, 70 once accents appear).
document.addEventListener("DOMContentLoaded", function () {
  var fields = document.querySelectorAll("[data-counter]");
  Array.prototype.forEach.call(fields, function (field) {
    var hint = document.getElementById(field.getAttribute("data-counter"));
    var max = parseInt(field.getAttribute("data-max"), 10);
    if (!hint || !max) { return; }
    var spoken = document.createElement("span");
    spoken.className = "visually-hidden";
    spoken.setAttribute("aria-live", "polite");
    hint.parentNode.insertBefore(spoken, hint.nextSibling);
    var timer = null;
    function texts(value) {
      var plain = /^[\x20-\x7E\n£¥èéùìòÇØøÅåÆæßÉ¡ÄÖÑÜ§¿äöñüà]*$/.test(value);
      var one = plain ? 160 : 70;
      if (value.length <= one) { return 1; }
      return Math.ceil(value.length / (plain ? 153 : 67));
    }
    function update() {
      var used = field.value.length;
      var words = used + " of " + max + " characters";
      var over = used > max;
      if (over) { words += ": " + (used - max) + " too many"; }
      hint.classList.toggle("error", over);
      if (field.hasAttribute("data-segments") && used) {
        var n = texts(field.value);
        words += ", sent as " + n + (n === 1 ? " text" : " texts");
      }
      hint.textContent = words + ".";
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { spoken.textContent = words; }, 1000);
    }
    field.addEventListener("input", update);
    update();
  });
});

// Announcements that screen readers actually make (issue 12). Every action reloads the
// page, and a live region that already holds its words when the page loads is not read
// out. So the page starts with an empty live region ([data-announcer], in the base
// layout) and this copies into it, a moment after load, what just happened: the notices
// at the top, and on the try-it panel the navigator's replies since your last message.
document.addEventListener("DOMContentLoaded", function () {
  var announcer = document.querySelector("[data-announcer]");
  if (!announcer) { return; }
  var said = [];
  Array.prototype.forEach.call(document.querySelectorAll("[data-announce]"), function (el) {
    said.push(el.textContent.replace(/\s+/g, " ").trim());
  });
  var screen = document.querySelector(".screen");
  var samePage = document.referrer && document.referrer.split("#")[0] === window.location.href.split("#")[0];
  if (screen && samePage) {
    var bubbles = screen.querySelectorAll(".bubble");
    var replies = [];
    for (var i = bubbles.length - 1; i >= 0 && !bubbles[i].classList.contains("bubble--you"); i--) {
      replies.unshift(bubbles[i].textContent.replace(/\s+/g, " ").trim());
    }
    said = said.concat(replies);
  }
  said = said.filter(Boolean);
  if (said.length) {
    window.setTimeout(function () { announcer.textContent = said.join(" "); }, 400);
  }
});

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
    // The same page of the inbox (?page=2) that is on screen.
    return fetch(window.location.pathname + window.location.search, { credentials: "same-origin" })
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
