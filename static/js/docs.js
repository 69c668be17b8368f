/* Starts Swagger UI on the API reference page (/v1/docs). Its configuration travels in data- attributes of
   #swagger-ui, so the page needs no inline script under the Content-Security-Policy. */
(function () {
  "use strict";

  function start() {
    var root = document.getElementById("swagger-ui");
    var data = root.dataset;
    var extra = {};
    try {
      extra = JSON.parse(data.settings || "{}");
    } catch (error) {
      extra = {};
    }
    var options = {
      url: data.schemaUrl,
      dom_id: "#swagger-ui",
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      requestInterceptor: function (request) {
        // A signed-in browser calls the API with its session: its writes need the CSRF token.
        if (request.method && request.method !== "GET" && request.credentials === "same-origin") {
          request.headers[data.csrfHeader] = data.csrfToken;
        }
        return request;
      }
    };
    Object.keys(extra).forEach(function (key) { options[key] = extra[key]; });
    window.ui = window.SwaggerUIBundle(options);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
