/* A field marked data-select-on-focus selects its whole text when focused (the admin's issued API key),
   so it can be copied at once. */
(function () {
  "use strict";
  document.addEventListener("focusin", function (event) {
    var field = event.target;
    if (field && field.matches && field.matches("[data-select-on-focus]")) {
      field.select();
    }
  });
})();
