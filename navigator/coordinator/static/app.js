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
// maxlength (issue 12): what is left is shown as one types, and said to screen readers a
// moment after typing stops, never at each key. data-segments="en|es" adds how many texts
// the words make (160 characters a text in plain English letters, 70 once accents appear).
document.addEventListener("DOMContentLoaded", function () {
  var fields = document.querySelectorAll("[data-counter]");
  Array.prototype.forEach.call(fields, function (field) {
    var hint = document.getElementById(field.getAttribute("data-counter"));
    var max = parseInt(field.getAttribute("maxlength"), 10);
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
