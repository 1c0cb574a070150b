// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", function () {
  // A rejected form: move focus to the list of problems so screen readers read it.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  // Try-it: keep the newest line of the conversation in view.
  var screen = document.querySelector(".screen");
  if (screen) { screen.scrollTop = screen.scrollHeight; }
});
