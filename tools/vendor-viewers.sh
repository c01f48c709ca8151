#!/usr/bin/env bash
# Re-creates llvscan/report/vendor/ (the viewers the static report site ships) from npm, at pinned
# versions: npm installs into a temporary folder, and only the files a page loads, with their licences,
# are copied. Run it after changing a version below, then update vendor/VENDORED.md to match and run
# tests/test_vendored_viewers.py. Needs node/npm and the npm registry; the files it writes are committed,
# so neither the tests nor `pip install` ever need the network.
set -euo pipefail

OPENSEADRAGON=6.1.1       # BSD-3-Clause
MODEL_VIEWER=4.4.0        # Apache-2.0; its UMD build bundles three r183, lit 3 and gainmap-js 3
THREE=0.183.2             # MIT; the Draco decoder files (Google Draco, Apache-2.0) come from its examples/

root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/llvscan/report/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
printf '{"name": "llvscan-vendor", "private": true}\n' > package.json
npm install --no-audit --no-fund --no-package-lock --silent \
    "openseadragon@$OPENSEADRAGON" "@google/model-viewer@$MODEL_VIEWER" "three@$THREE"
nm="$work/node_modules"

# the versions npm resolved must be the pinned ones (a registry that answered otherwise stops here)
check() {
    local got
    got="$(node -p "require('$nm/$1/package.json').version")"
    if [ "$got" != "$2" ]; then echo "vendor-viewers: $1 is $got, expected $2" >&2; exit 1; fi
}
check openseadragon "$OPENSEADRAGON"
check @google/model-viewer "$MODEL_VIEWER"
check three "$THREE"
# model-viewer's bundled three must be the revision whose Draco decoder files we ship
bundled="$(grep -o "REVISION = '[0-9]*'" "$nm/@google/model-viewer/dist/model-viewer-umd.js" | head -1 | grep -o '[0-9]*')"
if [ "$bundled" != "$(echo "$THREE" | cut -d. -f2)" ]; then
    echo "vendor-viewers: model-viewer bundles three r$bundled, but three $THREE is pinned" >&2; exit 1
fi

# VENDORED.md is written by hand (versions, settings a page must make): kept across a re-run
if [ -f "$vendor/VENDORED.md" ]; then cp "$vendor/VENDORED.md" "$work/VENDORED.md"; fi
rm -rf "$vendor"
mkdir -p "$vendor/openseadragon/images" "$vendor/model-viewer/licenses" "$vendor/draco"

# OpenSeadragon: the minified build and its navigation button images (prefixUrl points at images/)
cp "$nm/openseadragon/build/openseadragon/openseadragon.min.js" "$vendor/openseadragon/"
cp "$nm/openseadragon/build/openseadragon/images/"*.png "$vendor/openseadragon/images/"
cp "$nm/openseadragon/LICENSE.txt" "$vendor/openseadragon/LICENSE.txt"

# model-viewer: the UMD build (a classic <script src>, no ES-module imports; three is bundled in)
cp "$nm/@google/model-viewer/dist/model-viewer-umd.min.js" "$vendor/model-viewer/"
cp "$nm/@google/model-viewer/LICENSE" "$vendor/model-viewer/LICENSE"
# and the licences of what that bundle contains
cp "$nm/three/LICENSE" "$vendor/model-viewer/licenses/three.LICENSE"
for pkg in lit lit-element lit-html @lit/reactive-element @monogrid/gainmap-js; do
    cp "$nm/$pkg/LICENSE" "$vendor/model-viewer/licenses/$(echo "$pkg" | tr -d @ | tr / -).LICENSE"
done

# Draco: the glTF-branch decoder (WebAssembly + its wrapper, and the asm.js fallback for browsers
# without WebAssembly), as three's DRACOLoader (inside model-viewer) loads them from one folder
for f in draco_decoder.wasm draco_wasm_wrapper.js draco_decoder.js; do
    cp "$nm/three/examples/jsm/libs/draco/gltf/$f" "$vendor/draco/"
done
cp "$nm/three/examples/jsm/libs/draco/README.md" "$vendor/draco/README.md"
cp "$nm/three/LICENSE" "$vendor/draco/three.LICENSE"
{
    echo "The files draco_decoder.wasm, draco_wasm_wrapper.js and draco_decoder.js are Google's Draco"
    echo "decoder (https://github.com/google/draco, glTF branch), as distributed in three.js $THREE"
    echo "(examples/jsm/libs/draco/gltf/), under the Apache License 2.0, whose text follows."
    echo
    cat "$nm/@google/model-viewer/LICENSE"
} > "$vendor/draco/LICENSE"

if [ -f "$work/VENDORED.md" ]; then cp "$work/VENDORED.md" "$vendor/VENDORED.md"; fi
chmod -R u=rwX,go=rX "$vendor"
echo "vendor-viewers: wrote $vendor"
echo "vendor-viewers: $(find "$vendor" -type f | wc -l) files; checksums of the scripts (compare with VENDORED.md):"
(cd "$vendor" && sha256sum openseadragon/openseadragon.min.js model-viewer/model-viewer-umd.min.js \
    draco/draco_decoder.wasm draco/draco_wasm_wrapper.js draco/draco_decoder.js)
