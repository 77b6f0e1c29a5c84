// The plotly.js partial bundle embedded in every report (plotly-rechain.min.js): the
// core (with scatter) and the trace types the reports' figures use.  Built by
// plotly-rechain.build.sh; README.md says when to rebuild.
'use strict';
var Plotly = require('plotly.js/lib/core');
Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/box'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/scattergeo'),
    require('plotly.js/lib/sankey'),
]);
module.exports = Plotly;
