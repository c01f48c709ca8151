// A mesh's page: the level switcher, the face count it shows, and the problem locations as hotspots.
// Text only: nothing from the data is ever written as markup.
(function () {
  "use strict";
  var viewer = document.getElementById("model");
  var select = document.getElementById("level");
  var faces = document.getElementById("faces");
  var note = document.getElementById("viewer-note");
  if (!viewer) { return; }
  if (location.protocol === "file:") {
    note.textContent = "Browsers do not load 3D files from file:// — serve the output folder " +
      "(for example: python -m http.server) to turn the model; the poster shows its thumbnail.";
  }
  if (select) {
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      viewer.setAttribute("src", option.value);
      faces.textContent = Number(option.dataset.faces).toLocaleString("en") + " faces";
    });
    faces.textContent = Number(select.options[select.selectedIndex].dataset.faces).toLocaleString("en") + " faces";
  }
  var toggle = document.getElementById("problems");
  if (toggle) {
    var problems = JSON.parse(viewer.dataset.problems || "[]");
    toggle.addEventListener("change", function () {
      var shown = viewer.querySelectorAll(".hotspot");
      shown.forEach(function (node) { node.remove(); });
      if (!toggle.checked) { return; }
      problems.forEach(function (problem, i) {
        var spot = document.createElement("button");
        spot.className = "hotspot " + problem.kind;
        spot.slot = "hotspot-" + i;
        spot.dataset.position = problem.position;
        spot.dataset.visibilityAttribute = "visible";
        spot.title = problem.kind.replace(/_/g, " ");
        spot.setAttribute("aria-label", spot.title);
        viewer.appendChild(spot);
      });
    });
  }
})();
