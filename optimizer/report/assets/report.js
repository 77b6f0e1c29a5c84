/* rechain report: render the embedded plotly figures; nothing here touches the network. */
(function () {
  "use strict";
  // The world map outlines ship inside the page: plotly finds them here and never fetches.
  var topo = document.getElementById("rechain-topojson");
  window.PlotlyGeoAssets = window.PlotlyGeoAssets || { topojson: {} };
  if (topo) {
    window.PlotlyGeoAssets.topojson.world_110m = JSON.parse(topo.textContent);
  }
  var config = {
    displaylogo: false,
    responsive: true,
    scrollZoom: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };
  var plots = [];
  function render(el) {
    var src = document.getElementById(el.getAttribute("data-fig"));
    if (!src) { return; }
    try {
      var fig = JSON.parse(src.textContent);
      window.Plotly.newPlot(el, fig.data, fig.layout, config).then(function () {
        el.setAttribute("data-rendered", "1");
      }, function (e) {
        console.error("rechain report: chart " + el.getAttribute("data-fig") + " failed: " + e);
      });
      plots.push(el);
    } catch (e) {
      // one broken chart must not stop the others
      console.error("rechain report: chart " + el.getAttribute("data-fig") + " failed: " + e);
    }
  }
  var els = document.querySelectorAll(".plot[data-fig]");
  for (var i = 0; i < els.length; i++) { render(els[i]); }

  // Printing: open every <details>, fit plots to the paper width, restore afterwards.
  var opened = [];
  function resizeAll() {
    for (var j = 0; j < plots.length; j++) { window.Plotly.Plots.resize(plots[j]); }
  }
  window.addEventListener("beforeprint", function () {
    var ds = document.querySelectorAll("details:not([open])");
    for (var k = 0; k < ds.length; k++) { ds[k].setAttribute("open", ""); opened.push(ds[k]); }
    resizeAll();
  });
  window.addEventListener("afterprint", function () {
    while (opened.length) { opened.pop().removeAttribute("open"); }
    resizeAll();
  });
})();
