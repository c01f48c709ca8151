// An image's page: OpenSeadragon on the image's IIIF tiles, its info given inline (works from file://).
(function () {
  "use strict";
  var element = document.getElementById("osd");
  var data = document.getElementById("tiles");
  if (!element || !data) { return; }
  var info = JSON.parse(data.textContent);
  self.llvscanViewer = OpenSeadragon({
    element: element,
    prefixUrl: element.dataset.prefix,
    tileSources: [info],
    showNavigator: true,
    crossOriginPolicy: false
  });
})();
