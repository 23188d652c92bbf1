// The ipywidgets embedder (embed-amd.js) is served from _static/widgets/, not from a CDN. It finds
// its own assets (icon fonts) relative to its AMD module's URL, so map the module's path for
// RequireJS to that folder, whatever the page's depth or the site's base path. Loaded after
// require.js and before embed-amd.js (see nb_ipywidgets_js in _config.yml).
(function () {
  var base = document.currentScript.src.replace(/[^/]*$/, "") + "widgets";
  window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": base } });
  window.__jupyter_widgets_assets_path__ = base + "/";
})();
