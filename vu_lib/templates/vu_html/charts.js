(function () {
  "use strict";
  var formatLocale = __VU_FORMAT_LOCALE__;
  var timeFormatLocale = __VU_TIME_LOCALE__;
  function draw(fig) {
    var node = fig.querySelector("script.vu-chart-spec");
    var view = fig.querySelector(".vu-chart-view");
    if (!node || !view) { return; }
    var spec = JSON.parse(node.textContent);
    window.vegaEmbed(view, spec, {
      mode: "vega-lite",
      renderer: "svg",
      actions: false,
      ast: true,
      formatLocale: formatLocale,
      timeFormatLocale: timeFormatLocale,
      // no <style> added by vega-embed or vega-tooltip (the page's CSP would refuse it):
      // their rules are in the page's CSS
      defaultStyle: false,
      tooltip: { theme: "light", disableDefaultStyle: true }
    }).then(function () {
      fig.classList.add("vu-chart--live");
    }).catch(function (err) {
      fig.classList.add("vu-chart--failed");
      if (window.console) { window.console.error(err); }
    });
  }
  function drawAll() {
    if (typeof window.vegaEmbed !== "function") { return; }
    var figs = document.querySelectorAll("figure.vu-chart");
    for (var i = 0; i < figs.length; i++) { draw(figs[i]); }
  }
  var ready = (document.fonts && document.fonts.ready) ? document.fonts.ready : Promise.resolve();
  ready.then(drawAll, drawAll);
})();
