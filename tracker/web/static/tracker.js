// tracker's few lines of script: everything works without it (plain forms); with it, htmx
// updates parts of pages. No inline script anywhere (the Content-Security-Policy forbids it).
"use strict";
document.addEventListener("submit", function (event) {
  // <form data-confirm="..."> asks before a step that cannot be taken back (sending a letter).
  var form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
