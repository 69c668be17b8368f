/* cmsportal staff pages: search suggestions (ARIA combobox), customer suggestions under RCN fields, the "/"
   shortcut, copy buttons.
   Everything here is an enhancement: without JavaScript the search form submits to the results page. */
(function () {
  "use strict";

  function setupCombobox(form) {
    var input = form.querySelector('input[role="combobox"]');
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var url = form.getAttribute("data-suggest-url");
    var timer = null;
    var controller = null;
    var active = -1;
    var lastQuery = null;

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll('a[role="option"]'));
    }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function highlight(index) {
      var opts = options();
      if (!opts.length) return;
      if (index < 0) index = opts.length - 1;
      if (index >= opts.length) index = 0;
      opts.forEach(function (o, i) { o.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      input.setAttribute("aria-activedescendant", opts[index].id);
      opts[index].scrollIntoView({ block: "nearest" });
    }
    function fetchSuggestions() {
      var q = input.value.trim();
      if (q === lastQuery) { if (q) open(); return; }
      lastQuery = q;
      if (!q) { list.innerHTML = ""; close(); return; }
      if (controller) controller.abort();
      controller = "AbortController" in window ? new AbortController() : null;
      fetch(url + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        // A redirect means the session ended (sign-in page): never show that page as suggestions.
        if (!response.ok || response.redirected) throw new Error(response.status);
        return response.text();
      }).then(function (html) {
        if (input.value.trim() !== q) return;
        list.innerHTML = html;  // server-rendered and escaped by the template engine
        active = -1;
        input.removeAttribute("aria-activedescendant");
        open();
      }).catch(function () { /* network hiccup or aborted: the form still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, 180);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) { lastQuery = null; fetchSuggestions(); return; }
        highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        if (list.hidden) return;
        event.preventDefault();
        highlight(active - 1);
      } else if (event.key === "Enter") {
        var opts = options();
        if (!list.hidden && active >= 0 && opts[active]) {
          event.preventDefault();
          window.location.href = opts[active].href;
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); close(); }
        else if (input.value) { input.value = ""; lastQuery = null; }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    input.addEventListener("focus", function () { if (input.value.trim() && list.innerHTML) open(); });
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
  }

  function setupCopy() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest(".copy-btn") : null;
      if (!button) return;
      var value = button.getAttribute("data-copy");
      var done = function () {
        button.classList.add("copied");
        var label = button.getAttribute("aria-label");
        button.setAttribute("aria-label", "Copied " + value);
        announce("Copied " + value);
        setTimeout(function () { button.classList.remove("copied"); button.setAttribute("aria-label", label); }, 1600);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(value).then(done, function () { fallbackCopy(value); done(); });
      } else {
        fallbackCopy(value);
        done();
      }
    });
  }
  function fallbackCopy(value) {
    var area = document.createElement("textarea");
    area.value = value;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(area);
  }
  var live;
  function announce(text) {
    if (!live) {
      live = document.createElement("div");
      live.className = "visually-hidden";
      live.setAttribute("role", "status");
      live.setAttribute("aria-live", "polite");
      live.setAttribute("data-testid", "announcer");
      document.body.appendChild(live);
    }
    live.textContent = text;
  }

  function setupSlash() {
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      var tag = target && target.tagName;
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
      var box = document.getElementById("home-search") || document.getElementById("site-search");
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    });
  }

  // On a phone the filter panel starts folded (the chips still show what is active); on wider screens it is open.
  function setupFilterPanel() {
    var panel = document.querySelector("details.filters-panel");
    if (panel && window.matchMedia && window.matchMedia("(max-width: 640px)").matches) panel.open = false;
  }

  // "Select all" on a list with bulk actions: checks every row box of its form, and follows them.
  function setupBulkSelection() {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-select-all]"), function (all) {
      var form = document.getElementById(all.getAttribute("form"));
      if (!form) return;
      var boxes = function () { return Array.prototype.slice.call(document.querySelectorAll('input[name="selected"][form="' + form.id + '"]')); };
      var count = document.querySelector("[data-selected-count]");
      function update() {
        var checked = boxes().filter(function (b) { return b.checked; }).length;
        all.checked = checked > 0 && checked === boxes().length;
        all.indeterminate = checked > 0 && checked < boxes().length;
        if (count) count.textContent = checked + " selected";
      }
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes().forEach(function (b) { b.checked = all.checked; });
        update();
      });
      boxes().forEach(function (b) { b.addEventListener("change", update); });
      update();
    });
  }

  // An action's form starts with its first field focused (the first one in error, after a refusal).
  function focusActionForm() {
    var form = document.querySelector('form[data-testid="action-form"]');
    if (!form) return;
    var field = form.querySelector(".has-error input, .has-error select, .has-error textarea") ||
      form.querySelector('input:not([type="hidden"]), select, textarea');
    if (field) field.focus();
  }

  // An RCN field (merge, move) suggests the customers one may see as one types an RCN or part of a name:
  // "RCN-123-456-789 — Name" options in a listbox under it (the ARIA combobox pattern of the search box);
  // arrow keys move, Enter or a click puts the RCN in the field, Escape closes. Without JavaScript the
  // field is a plain text field.
  function setupCustomerCombobox(input) {
    var url = input.getAttribute("data-customer-suggest");
    var wrap = document.createElement("div");
    var list = document.createElement("div");
    var timer = null;
    var controller = null;
    var active = -1;
    var lastQuery = null;
    wrap.className = "combo";
    list.id = input.id + "-suggestions";
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Customers");
    list.hidden = true;
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    wrap.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll('[role="option"]'));
    }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function open() {
      if (!options().length) { close(); return; }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function highlight(index) {
      var opts = options();
      if (!opts.length) return;
      if (index < 0) index = opts.length - 1;
      if (index >= opts.length) index = 0;
      opts.forEach(function (o, i) { o.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      input.setAttribute("aria-activedescendant", opts[index].id);
      opts[index].scrollIntoView({ block: "nearest" });
    }
    function choose(option) {
      input.value = option.getAttribute("data-value");
      lastQuery = input.value;
      close();
      input.focus();
    }
    function fill(customers) {
      while (list.firstChild) list.removeChild(list.firstChild);
      customers.forEach(function (customer, i) {
        var option = document.createElement("div");
        var ident = document.createElement("span");
        option.id = list.id + "-" + i;
        option.className = "sugg";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-value", customer.rcn);
        option.setAttribute("data-testid", "customer-suggestion");
        ident.className = "hit-ident";
        ident.textContent = customer.rcn;
        option.appendChild(ident);
        if (customer.name) option.appendChild(document.createTextNode(" — " + customer.name));
        list.appendChild(option);
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
    }
    function fetchCustomers() {
      var q = input.value.trim();
      if (q === lastQuery) { open(); return; }
      lastQuery = q;
      if (!q) { fill([]); close(); return; }
      if (controller) controller.abort();
      controller = "AbortController" in window ? new AbortController() : null;
      fetch(url + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-Requested-With": "fetch" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        if (!response.ok || response.redirected) throw new Error(response.status);
        return response.json();
      }).then(function (data) {
        if (input.value.trim() !== q) return;
        fill(data.customers || []);
        if (document.activeElement === input) open();
      }).catch(function () { /* network hiccup or aborted: the field still takes an RCN */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchCustomers, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) { open(); if (list.hidden) { lastQuery = null; fetchCustomers(); } return; }
        highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        if (list.hidden) return;
        event.preventDefault();
        highlight(active - 1);
      } else if (event.key === "Enter") {
        var opts = options();
        if (!list.hidden && active >= 0 && opts[active]) {
          event.preventDefault();  // choosing a customer, not submitting the form yet
          choose(opts[active]);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var option = event.target.closest ? event.target.closest('[role="option"]') : null;
      if (option) choose(option);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-suggest-url]"), setupCombobox);
    Array.prototype.forEach.call(document.querySelectorAll("input[data-customer-suggest]"), setupCustomerCombobox);
    focusActionForm();
    setupFilterPanel();
    setupBulkSelection();
    setupCopy();
    setupSlash();
  });
})();
