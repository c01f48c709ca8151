// Where model-viewer finds its decoders: the report's own vendored copies, never a CDN.
// Set before model-viewer loads (it reads self.ModelViewerElement when it defines itself).
(function () {
  "use strict";
  var here = document.currentScript.src;
  var vendor = here.slice(0, here.lastIndexOf("/static/")) + "/vendor/";
  self.ModelViewerElement = self.ModelViewerElement || {};
  self.ModelViewerElement.dracoDecoderLocation = vendor + "draco/";
  self.ModelViewerElement.ktx2TranscoderLocation = vendor + "basis/";
  self.ModelViewerElement.meshoptDecoderLocation = vendor + "meshopt/meshopt_decoder.js";
  self.ModelViewerElement.lottieLoaderLocation = vendor + "lottie/lottie.min.js";
})();
