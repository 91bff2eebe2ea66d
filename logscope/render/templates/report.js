/* logscope findings page: tabs by status, category / defects-only / text filters. Reads the page, loads nothing. */
(function () {
  "use strict";
  var cards = Array.prototype.slice.call(document.querySelectorAll(".finding"));
  var groups = Array.prototype.slice.call(document.querySelectorAll(".status-group"));
  var tabs = Array.prototype.slice.call(document.querySelectorAll(".tab"));
  var filters = document.getElementById("filters");
  var search = document.getElementById("search");
  var defectsOnly = document.getElementById("defects-only");
  var categoryBoxes = Array.prototype.slice.call(document.querySelectorAll(".category-filter"));
  var statusLine = document.getElementById("filter-status");
  var noMatch = document.getElementById("no-match");
  var texts = cards.map(function (card) { return card.textContent.toLowerCase(); });
  var state = { status: "all" };

  function selectedCategories() {
    var chosen = {};
    categoryBoxes.forEach(function (box) { if (box.checked) { chosen[box.value] = true; } });
    return chosen;
  }

  function apply() {
    var query = search.value.trim().toLowerCase();
    var categories = selectedCategories();
    var narrowing = query !== "" || defectsOnly.checked ||
      categoryBoxes.some(function (box) { return !box.checked; });
    var shown = 0;
    cards.forEach(function (card, index) {
      var visible = (state.status === "all" || card.dataset.status === state.status) &&
        (!defectsOnly.checked || card.dataset.defects === "1") &&
        categories[card.dataset.category] === true &&
        (query === "" || texts[index].indexOf(query) !== -1);
      card.hidden = !visible;
      if (visible) { shown += 1; }
    });
    groups.forEach(function (group) {
      var statusMatches = state.status === "all" || group.dataset.status === state.status;
      var hasVisible = group.querySelector(".finding:not([hidden])") !== null;
      group.hidden = !(statusMatches && (hasVisible || !narrowing));
    });
    tabs.forEach(function (tab) {
      var active = tab.dataset.status === state.status;
      tab.classList.toggle("active", active);
      tab.setAttribute("aria-pressed", active ? "true" : "false");
    });
    statusLine.textContent = "Showing " + shown + " of " + cards.length + " findings.";
    noMatch.hidden = shown !== 0 || !narrowing;
  }

  function selectStatus(status) {
    state.status = status;
    apply();
  }

  tabs.forEach(function (tab) {
    tab.addEventListener("click", function (event) {
      event.preventDefault();
      selectStatus(tab.dataset.status);
    });
  });
  search.addEventListener("input", apply);
  defectsOnly.addEventListener("change", apply);
  categoryBoxes.forEach(function (box) { box.addEventListener("change", apply); });
  document.addEventListener("keydown", function (event) {
    var typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
    if (event.key === "/" && !typing) {
      event.preventDefault();
      search.focus();
    }
  });
  window.addEventListener("beforeprint", function () {
    cards.forEach(function (card) { card.open = true; });
  });

  filters.hidden = false;
  var fromHash = /^#status-([a-z-]+)$/.exec(window.location.hash);
  if (fromHash && tabs.some(function (tab) { return tab.dataset.status === fromHash[1]; })) {
    state.status = fromHash[1];
  }
  apply();
}());
