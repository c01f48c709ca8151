// The asset list: rows come in shards (data/rows-NNNN.js) and filters as lists of row numbers
// (data/facet-*.js), each loaded as a script when first needed, so that the first screen of a large run
// needs one shard and everything works from file://. Rows are written as text, never as markup.
var llvscan = (function () {
  "use strict";
  var PAGE = 50;
  var index = null;
  var shards = {};
  var facets = {};
  var waiting = {};
  var page = 0;
  var state = { q: "", status: "", kind: "", code: "" };
  var token = 0;

  function load(src, key, store) {
    if (store[key] !== undefined) { return Promise.resolve(store[key]); }
    if (!waiting[src]) {
      waiting[src] = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () { resolve(store[key]); };
        script.onerror = function () { reject(new Error("cannot load " + src)); };
        document.head.appendChild(script);
      });
    }
    return waiting[src];
  }
  function shard(i) { return load("data/rows-" + String(i).padStart(4, "0") + ".js", i, shards); }
  function facet(name, option) {
    var key = name + ":" + option.value;
    return load("data/facet-" + name + "-" + option.dataset.slug + ".js", key, facets);
  }
  function row(n) {
    return shard(Math.floor(n / index.shard_rows)).then(function (rows) { return rows[n % index.shard_rows]; });
  }
  function intersect(lists) {
    if (!lists.length) { return null; }
    lists.sort(function (a, b) { return a.length - b.length; });
    var result = lists[0];
    for (var i = 1; i < lists.length; i++) {
      var other = new Set(lists[i]);
      result = result.filter(function (n) { return other.has(n); });
    }
    return result;
  }
  function selected() {
    var wanted = [];
    ["status", "kind", "code"].forEach(function (name) {
      var select = document.getElementById(name);
      if (select.value) { wanted.push(facet(name, select.options[select.selectedIndex])); }
    });
    return Promise.all(wanted).then(intersect);
  }
  function matches(r, q) {
    if (!q) { return true; }
    return [r[0], r[1], r[2], r[7], r[8]].some(function (field) {
      return field && String(field).toLowerCase().indexOf(q) >= 0;
    });
  }
  function searched(numbers, q) {
    // a text search reads every shard it needs (all of them without other filters), then filters
    var all = numbers || Array.from({ length: index.total }, function (_, i) { return i; });
    if (!q) { return Promise.resolve(all); }
    var needed = Array.from(new Set(all.map(function (n) { return Math.floor(n / index.shard_rows); })));
    return Promise.all(needed.map(shard)).then(function () {
      return all.filter(function (n) { return matches(shards[Math.floor(n / index.shard_rows)][n % index.shard_rows], q); });
    });
  }
  function cell(tr, text, className) {
    var td = document.createElement("td");
    td.textContent = text == null ? "—" : String(text);
    if (className) { td.className = className; }
    tr.appendChild(td);
    return td;
  }
  function draw(numbers) {
    var mine = ++token;
    var total = numbers.length;
    var pages = Math.max(1, Math.ceil(total / PAGE));
    page = Math.min(page, pages - 1);
    var slice = numbers.slice(page * PAGE, (page + 1) * PAGE);
    document.getElementById("count").textContent = total.toLocaleString("en") + " of " +
      index.total.toLocaleString("en") + " assets";
    document.getElementById("page").textContent = "page " + (page + 1) + " of " + pages;
    document.getElementById("prev").disabled = page === 0;
    document.getElementById("next").disabled = page >= pages - 1;
    return Promise.all(slice.map(row)).then(function (rows) {
      if (mine !== token) { return; }
      var body = document.querySelector("#list tbody");
      body.replaceChildren();
      rows.forEach(function (r) {
        var tr = document.createElement("tr");
        tr.dataset.name = r[0];
        var thumb = document.createElement("td");
        if (r[9]) {
          var img = document.createElement("img");
          img.src = r[9];
          img.alt = "";
          img.loading = "lazy";
          img.className = "thumb";
          thumb.appendChild(img);
        }
        tr.appendChild(thumb);
        var name = document.createElement("td");
        var link = document.createElement("a");
        link.href = "assets/" + encodeURIComponent(r[0]) + ".html";
        link.textContent = r[1];
        name.appendChild(link);
        var path = document.createElement("div");
        path.className = "path";
        path.textContent = r[2];
        name.appendChild(path);
        tr.appendChild(name);
        cell(tr, r[3]);
        cell(tr, r[4] + (r[5] === 0 ? ", invalid" : ""));
        cell(tr, r[6].join(", "), "codes");
        cell(tr, r[7]);
        cell(tr, r[8]);
        body.appendChild(tr);
      });
    });
  }
  var asked = 0;
  function refresh() {
    // filters loaded for an earlier change may arrive after those of a later one: only the latest
    // change draws (else a quick second change could be overwritten by the first one's rows)
    var mine = ++asked;
    selected().then(function (numbers) { return searched(numbers, state.q); }).then(function (numbers) {
      if (mine !== asked) { return; }
      current = numbers;
      return draw(numbers);
    }).catch(function (error) { if (mine === asked) { document.getElementById("count").textContent = String(error); } });
  }
  var current = [];
  function start() {
    ["status", "kind", "code"].forEach(function (name) {
      document.getElementById(name).addEventListener("change", function () { page = 0; refresh(); });
    });
    var timer = null;
    document.getElementById("q").addEventListener("input", function (event) {
      clearTimeout(timer);
      timer = setTimeout(function () { state.q = event.target.value.trim().toLowerCase(); page = 0; refresh(); }, 200);
    });
    document.getElementById("filters").addEventListener("submit", function (event) { event.preventDefault(); });
    document.getElementById("prev").addEventListener("click", function () { page -= 1; draw(current); });
    document.getElementById("next").addEventListener("click", function () { page += 1; draw(current); });
    var params = new URLSearchParams(location.search);
    ["status", "kind", "code"].forEach(function (name) {
      if (params.get(name)) { document.getElementById(name).value = params.get(name); }
    });
    refresh();
  }
  return {
    index: function (data) { index = data; if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); } },
    rows: function (data) { shards[data.shard] = data.rows; },
    facet: function (data) { facets[data.facet + ":" + data.key] = data.rows; }
  };
})();
