// Progressive enhancement only: focus the error summary, offer copy buttons,
// keep Back from showing a stale page.
(function () {
  "use strict";
  // A page restored from the back/forward cache may predate the last save:
  // fetch it again so that Back always shows the saved answers.
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) { window.location.reload(); }
  });
  var summary = document.querySelector("[data-autofocus]");
  if (summary) { summary.focus(); }
  document.querySelectorAll(".error-summary a[href^='#']").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      var target = document.getElementById(a.getAttribute("href").slice(1));
      if (!target) { return; }
      ev.preventDefault();
      target.scrollIntoView({ block: "center" });
      target.focus();
    });
  });
  if (navigator.clipboard) {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        navigator.clipboard.writeText(b.getAttribute("data-copy")).then(function () {
          var label = b.firstChild.nodeValue;
          b.firstChild.nodeValue = "Copied";
          setTimeout(function () { b.firstChild.nodeValue = label; }, 1500);
        });
      });
    });
  }
})();
