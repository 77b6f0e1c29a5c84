#!/usr/bin/env bash
# Rebuild plotly-rechain.min.js (README.md): plotly.js VERSION from npm, the entry file's
# trace types only, minified by esbuild the way plotly.js builds its own bundles.
# Usage: bash plotly-rechain.build.sh [VERSION]   (default: the plotly.js the installed
# plotly Python package ships)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=${1:-$(python -c 'from plotly.offline import get_plotlyjs_version as v; print(v())')}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo '{"name":"plotly-rechain","version":"0.0.0","private":true}' > package.json
npm install --ignore-scripts --no-audit --no-fund "plotly.js@$version" esbuild@0.25.12 >/dev/null
cp "$here/plotly-rechain.entry.js" entry.js
npx esbuild entry.js --bundle --minify --format=iife --global-name=Plotly --target=es2016 \
  --define:global=window --define:define.amd=false --define:process.env.NODE_DEBUG=false \
  --alias:regl=@plotly/regl --loader:.css=empty --log-level=warning --outfile=bundle.js
{
  echo "/* plotly.js v$version partial bundle for rechain (core + scatter, bar, box, heatmap, scattergeo, sankey)."
  echo " * Copyright 2012-2026, Plotly, Inc. Licensed under the MIT license; bundled libraries'"
  echo " * licences follow at the end. Built by plotly-rechain.build.sh with esbuild. */"
  cat bundle.js
} > "$here/plotly-rechain.min.js"
echo "wrote $here/plotly-rechain.min.js ($(wc -c < "$here/plotly-rechain.min.js") bytes)"
