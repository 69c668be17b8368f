/* cmsportal staff pages: search suggestions (ARIA combobox), customer suggestions under RCN fields, the "/"
   shortcut, copy buttons.
   Everything here is an enhancement: without JavaScript the search form submits to the results page. */
(function () {
  "use strict";

  // One ARIA combobox (the search box's and the RCN fields'): `input` controls the listbox `list`.
  // config.fetch(q, signal) is a promise of data for the query, config.render(data) fills the list with it
  // (null empties it), config.choose(option) acts on an option (Enter); arrow keys move, Escape closes
  // (and, with config.clearOnEscape, then empties the field); config.openOnFocus reopens it on focus.
  function combobox(input, list, config) {
    var timer = null;
    var controller = null;
    var active = -1;
    var lastQuery = null;

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll('[role="option"]'));
    }
    function forget() {
      active = -1;
      input.removeAttribute("aria-activedescendant");
    }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      forget();
    }
    function open() {
      if (!list.children.length) { close(); return; }
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
    function refresh() {
      var q = input.value.trim();
      if (q === lastQuery) { open(); return; }
      lastQuery = q;
      if (!q) { config.render(null); close(); return; }
      if (controller) controller.abort();
      controller = "AbortController" in window ? new AbortController() : null;
      config.fetch(q, controller ? controller.signal : undefined).then(function (data) {
        if (input.value.trim() !== q) return;
        config.render(data);
        forget();
        if (document.activeElement === input) open();
      }).catch(function () { /* network hiccup or aborted: the field still works without suggestions */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, config.delay || 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) { refresh(); return; }
        highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        if (list.hidden) return;
        event.preventDefault();
        highlight(active - 1);
      } else if (event.key === "Enter") {
        var opts = options();
        if (!list.hidden && active >= 0 && opts[active]) {
          event.preventDefault();  // acting on the option, not submitting the form
          config.choose(opts[active], close);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); close(); }
        else if (config.clearOnEscape && input.value) { input.value = ""; lastQuery = null; }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    if (config.openOnFocus) {
      input.addEventListener("focus", function () { if (input.value.trim()) open(); });
    }
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    return {
      close: close,
      remember: function (value) { lastQuery = value; }
    };
  }

  // Requests carry X-Requested-With so the server answers a fragment; a redirect means the session ended
  // (the sign-in page), which is never shown as suggestions.
  function suggestions(url, q, signal, accept) {
    return fetch(url + "?q=" + encodeURIComponent(q), {
      credentials: "same-origin",
      headers: { "Accept": accept, "X-Requested-With": "fetch" },
      signal: signal
    }).then(function (response) {
      if (!response.ok || response.redirected) throw new Error(response.status);
      return accept === "application/json" ? response.json() : response.text();
    });
  }

  // The header's search box: server-rendered suggestions (links); Enter on one follows it.
  function setupSearchCombobox(form) {
    var input = form.querySelector('input[role="combobox"]');
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var url = form.getAttribute("data-suggest-url");
    combobox(input, list, {
      delay: 180,
      clearOnEscape: true,
      openOnFocus: true,
      fetch: function (q, signal) { return suggestions(url, q, signal, "text/html"); },
      render: function (html) { list.innerHTML = html || ""; },  // escaped by the template engine
      choose: function (option) { window.location.href = option.href; }
    });
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

    function render(data) {
      while (list.firstChild) list.removeChild(list.firstChild);
      ((data && data.customers) || []).forEach(function (customer, i) {
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
    }
    var box = combobox(input, list, {
      fetch: function (q, signal) { return suggestions(url, q, signal, "application/json"); },
      render: render,
      choose: choose
    });
    function choose(option) {
      input.value = option.getAttribute("data-value");
      box.remember(input.value);
      box.close();
      input.focus();
    }
    list.addEventListener("click", function (event) {
      var option = event.target.closest ? event.target.closest('[role="option"]') : null;
      if (option) choose(option);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-suggest-url]"), setupSearchCombobox);
    Array.prototype.forEach.call(document.querySelectorAll("input[data-customer-suggest]"), setupCustomerCombobox);
    focusActionForm();
    setupFilterPanel();
    setupBulkSelection();
    setupCopy();
    setupSlash();
  });
})();
