// Starts Swagger UI on /docs from this file rather than an inline script, so the page runs under the
// same Content-Security-Policy as the rest of the server (script-src 'self', no 'unsafe-inline').
"use strict";
(function start() {
  const root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // no request to the public spec validator: the docs work without leaving this server
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
  });
})();
