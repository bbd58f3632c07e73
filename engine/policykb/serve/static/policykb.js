/* The query page's script: the YASQE editor over the form's text area (syntax highlighting, completion of
   prefixes, variables, and the ontology's classes and properties), Ctrl-Enter to run, and a history of the
   queries run, kept in this browser. Everything it fetches comes from this server: no prefix.cc, no LOV.
   Without it the page is a plain form that works all the same. */
(function () {
  "use strict";
  var form = document.getElementById("query-form");
  var textarea = document.getElementById("query");
  if (!form || !textarea) return;

  var HISTORY_KEY = "policykb.history";
  var HISTORY_KEPT = 30;

  function history() {
    try {
      var kept = JSON.parse(window.localStorage.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(kept) ? kept.filter(function (q) { return typeof q === "string"; }) : [];
    } catch (e) {
      return [];
    }
  }

  function remember(text) {
    if (!text.trim()) return;
    var kept = history().filter(function (q) { return q !== text; });
    kept.unshift(text);
    try {
      window.localStorage.setItem(HISTORY_KEY, JSON.stringify(kept.slice(0, HISTORY_KEPT)));
    } catch (e) { /* storage full or disabled: no history, nothing else lost */ }
  }

  function summary(text) {
    var body = text.split("\n").filter(function (line) {
      return line.trim() && !/^\s*(PREFIX|BASE|#)/i.test(line);
    }).join(" ").replace(/\s+/g, " ").trim();
    return body.length > 90 ? body.slice(0, 89) + "…" : body;
  }

  var editor = null;

  function setQuery(text) {
    textarea.value = text;
    if (editor) editor.setValue(text);
  }

  function showHistory() {
    var select = document.getElementById("history");
    var box = document.getElementById("history-box");
    var kept = history();
    if (!select || !box || !kept.length) return;
    kept.forEach(function (text, i) {
      var option = document.createElement("option");
      option.value = String(i);
      option.textContent = summary(text);
      option.title = text;
      select.appendChild(option);
    });
    box.hidden = false;
    select.addEventListener("change", function () {
      if (select.value !== "") setQuery(kept[Number(select.value)]);
      select.value = "";
    });
  }

  function run() {
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  form.addEventListener("submit", function () { remember(textarea.value); });
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run(); }
  });
  showHistory();

  // the UMD build makes the class itself the global
  var Yasqe = typeof window.Yasqe === "function" ? window.Yasqe : window.Yasqe && (window.Yasqe.default || window.Yasqe.Yasqe);
  if (!Yasqe) return;

  var prefixes = {};
  try { prefixes = JSON.parse(form.getAttribute("data-prefixes") || "{}"); } catch (e) { prefixes = {}; }

  // the terms of the ontology, asked once of this endpoint
  function terms(query) {
    var asked = null;
    return function () {
      if (!asked) {
        asked = fetch("/sparql?" + new URLSearchParams({ query: query }).toString(),
                      { headers: { Accept: "application/sparql-results+json" } })
          .then(function (r) { return r.ok ? r.json() : { results: { bindings: [] } }; })
          .then(function (j) { return j.results.bindings.map(function (b) { return b.t.value; }); })
          .catch(function () { return []; });
      }
      return asked;
    };
  }
  function completer(list) {
    return function (yasqe, token) {
      var start = token && token.autocompletionString ? token.autocompletionString : "";
      return list().then(function (all) {
        return all.filter(function (iri) { return iri.indexOf(start) === 0; }).slice(0, 100);
      });
    };
  }
  var classes = terms("SELECT DISTINCT ?t WHERE { { ?t a owl:Class } UNION { ?t a rdfs:Class } FILTER isIRI(?t) } ORDER BY ?t");
  var properties = terms("SELECT DISTINCT ?t WHERE { VALUES ?k { owl:ObjectProperty owl:DatatypeProperty " +
                         "owl:AnnotationProperty rdf:Property } ?t a ?k FILTER isIRI(?t) } ORDER BY ?t");

  Yasqe.forkAutocompleter("prefixes", {
    name: "policykbPrefixes",
    persistenceId: null,
    get: function () {
      return Promise.resolve(Object.keys(prefixes).sort().map(function (p) { return p + ": <" + prefixes[p] + ">"; }));
    }
  }, false);
  Yasqe.forkAutocompleter("class", { name: "policykbClasses", get: completer(classes) }, false);
  Yasqe.forkAutocompleter("property", { name: "policykbProperties", get: completer(properties) }, false);
  // set, not merged: the defaults name the completers that ask prefix.cc and LOV
  Yasqe.defaults.autocompleters = ["policykbPrefixes", "variables", "policykbClasses", "policykbProperties"];

  var holder = document.createElement("div");
  holder.id = "editor";
  textarea.parentNode.insertBefore(holder, textarea);
  textarea.hidden = true;
  editor = new Yasqe(holder, {
    value: textarea.value,
    persistenceId: null,
    consumeShareLink: null,
    createShareableLink: null,
    showQueryButton: false,
    resizeable: true,
    editorHeight: "14rem",
    requestConfig: { endpoint: "/sparql" },
    extraKeys: {
      "Ctrl-Enter": function () { run(); },
      "Cmd-Enter": function () { run(); }
    }
  });
  editor.on("change", function () { textarea.value = editor.getValue(); });
  window.policykbEditor = editor;
})();
