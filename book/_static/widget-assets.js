// The ipywidgets embedder (embed-amd.js) is served from _static/widgets/, not from a CDN. It finds
// its own assets (icon fonts) relative to its AMD module's URL, so map the module's path for
// RequireJS to that folder, whatever the page's depth or the site's base path. Loaded after
// require.js and MathJax's configuration, before embed-amd.js (nb_ipywidgets_js in _config.yml).
(function () {
  var base = document.currentScript.src.replace(/[^/]*$/, "") + "widgets";
  window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": base } });
  window.__jupyter_widgets_assets_path__ = base + "/";

  // The embedder typesets widget labels with the MathJax 2 call MathJax.Hub.Queue(["Typeset",
  // MathJax.Hub, element]); the book serves MathJax 3, which has no Hub. Give MathJax 3 that one
  // call: elements queued before MathJax has started are typeset once it is ready.
  var config = window.MathJax = window.MathJax || {};
  var pending = [];
  var hub = {
    Queue: function (job) {
      var element = job && job[2];
      if (!element) return;
      if (window.MathJax.typesetPromise) window.MathJax.typesetPromise([element]);
      else pending.push(element);
    }
  };
  config.Hub = hub;
  config.startup = config.startup || {};
  config.startup.ready = function () {
    window.MathJax.startup.defaultReady();
    window.MathJax.Hub = hub;
    window.MathJax.startup.promise.then(function () {
      if (pending.length) window.MathJax.typesetPromise(pending.splice(0));
    });
  };
})();
