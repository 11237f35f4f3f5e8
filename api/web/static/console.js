// fieldsync console: small progressive enhancements. Every page works
// without this script except the photo viewer, which the review needs
// before a photo's flags can be acknowledged.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    var f = el.form;
    f.querySelector("input[name=next]").value = location.pathname + location.search;
    el.addEventListener("change", function () { f.submit(); });
  });
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  var dlg = document.getElementById("viewer");
  if (!dlg) { return; }
  var img = document.getElementById("viewer-img");
  var scale = 1;
  function apply() { img.style.transform = "scale(" + scale + ")"; }
  function markViewed(id) {
    var list = document.getElementById("viewed-list");
    if (list && !list.querySelector("input[value='" + id + "']")) {
      var i = document.createElement("input");
      i.type = "hidden"; i.name = "viewed"; i.value = id;
      list.appendChild(i);
    }
    document.querySelectorAll("[data-needs-view='" + id + "']").forEach(function (t) {
      t.disabled = false; t.placeholder = "";
    });
    var card = document.getElementById("ev-" + id);
    if (card) {
      card.classList.add("viewed");
      var n = card.querySelector("[data-viewed-note]");
      if (n) { n.hidden = false; }
    }
  }
  document.querySelectorAll("[data-open]").forEach(function (b) {
    b.addEventListener("click", function () {
      scale = 1; apply();
      img.src = b.getAttribute("data-full");
      img.onload = function () { markViewed(b.getAttribute("data-open")); };
      dlg.showModal();
    });
  });
  dlg.querySelectorAll("[data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () {
      var z = parseFloat(b.getAttribute("data-zoom"));
      scale = z === 0 ? 1 : Math.min(8, Math.max(0.2, scale * z));
      apply();
    });
  });
  dlg.querySelector("[data-close]").addEventListener("click", function () { dlg.close(); });
  dlg.addEventListener("keydown", function (e) {
    if (e.key === "+" || e.key === "=") { scale = Math.min(8, scale * 1.25); apply(); }
    if (e.key === "-") { scale = Math.max(0.2, scale * 0.8); apply(); }
  });
})();
