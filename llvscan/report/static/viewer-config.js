// Where model-viewer finds its decoders: the report's own vendored copies, never a CDN. Loaded right
// after model-viewer's classic build (which replaces self.ModelViewerElement with its own object when it
// runs) and before the first <model-viewer> element asks for a decoder.
(function () {
  "use strict";
  var here = document.currentScript.src;
  var vendor = here.slice(0, here.lastIndexOf("/static/")) + "/vendor/";
  Object.assign(self.ModelViewerElement, {
    dracoDecoderLocation: vendor + "draco/",
    // llvscan writes neither KTX2 textures nor Lottie: these point at nothing local, so a stray use
    // fails here instead of fetching from the network
    ktx2TranscoderLocation: vendor + "basis/",
    lottieLoaderLocation: vendor + "lottie/LottieLoader.js"
  });
})();
