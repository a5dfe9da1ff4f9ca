// The project settings' colour pickers show the colours a render will use: the theme
// preset's, from its <option data-colours>, unless "Custom colours" is ticked. The server
// renders them so; this keeps them so as the user changes the menu or the box. Picking a
// colour ticks the box, since only custom colours are used.
// Listens on the document: htmx swaps forms in (boosted pages, forms back with errors) and
// runs no scripts inside them (allowScriptTags is off), so base.html loads this once.
(function () {
  "use strict";

  function showPreset(form) {
    var custom = form.elements.namedItem("theme_custom");
    var preset = form.elements.namedItem("theme_preset");
    if (!preset || (custom && custom.checked)) {
      return;
    }
    var option = preset.options[preset.selectedIndex];
    var colours = option && option.dataset.colours ? JSON.parse(option.dataset.colours) : {};
    Object.keys(colours).forEach(function (slot) {
      var input = form.elements.namedItem("theme_" + slot);
      if (input && input.type === "color") {
        input.value = colours[slot];
      }
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.form && (target.name === "theme_preset" || target.name === "theme_custom")) {
      showPreset(target.form);
    }
  });

  document.addEventListener("input", function (event) {
    var target = event.target;
    var custom = target.form && target.form.elements.namedItem("theme_custom");
    if (target.type === "color" && target.name.indexOf("theme_") === 0 && custom) {
      custom.checked = true;
    }
  });
})();
