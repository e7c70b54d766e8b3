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
  // Copy: the Clipboard API needs https or localhost; on a plain-http team
  // server copy through a selected text area, and if even that is refused,
  // leave the value selected for Ctrl+C.
  function copyText(b) {
    var text = b.getAttribute("data-copy");
    var label = b.firstChild.nodeValue;
    var say = function (what) {
      b.firstChild.nodeValue = what;
      setTimeout(function () { b.firstChild.nodeValue = label; }, 2000);
    };
    var fallback = function () {
      var t = document.createElement("textarea");
      t.value = text;
      t.setAttribute("readonly", "");
      t.style.position = "fixed";
      t.style.opacity = "0";
      document.body.appendChild(t);
      t.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(t);
      if (ok) { say("Copied"); return; }
      var code = b.previousElementSibling || (b.parentNode && b.parentNode.previousElementSibling);
      if (code && code.select) {
        code.select();
      } else if (code) {
        var range = document.createRange();
        range.selectNodeContents(code);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
      say("Selected: press Ctrl+C");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { say("Copied"); }, fallback);
    } else {
      fallback();
    }
  }
  document.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { copyText(b); });
  });
  // A run in the background: its status is fetched every two seconds and
  // put in place, instead of reloading the page (a timed refresh takes
  // the reader's place away, WCAG 2.2.1); once it ended, the page shows
  // its result. Without scripts the panel's "Refresh now" link does it.
  var run = document.querySelector("[data-refresh]");
  if (run && window.fetch && window.DOMParser) {
    var tick = function () {
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var next = doc.querySelector("[data-refresh]");
          var main = document.querySelector("main");
          if (next) {
            run.innerHTML = next.innerHTML;
            setTimeout(tick, 2000);
          } else if (main && doc.querySelector("main")) {
            main.replaceWith(doc.querySelector("main"));
          }
        })
        .catch(function () { setTimeout(tick, 5000); });
    };
    setTimeout(tick, 2000);
  }
})();
