/* The survey's only script, loaded from a file (no inline script) and never required.
 *
 * On the form: when it is sent, note in this tab's sessionStorage whether any answer is one
 * that opens the support resources (the values are on each question's fieldset). Nothing is
 * sent to the server. On the thank-you page: read the note once, delete it, and open the
 * resources with a word of care if it was set; otherwise fold them away. Without JavaScript
 * the resources are simply always listed.
 */
(function () {
  "use strict";
  var KEY = "wellbeing.support";

  function storage() {
    try {
      return window.sessionStorage;
    } catch (error) {
      return null;
    }
  }

  function anyHighAnswer(form) {
    var groups = form.querySelectorAll("[data-support-values]");
    for (var i = 0; i < groups.length; i += 1) {
      var values = groups[i].getAttribute("data-support-values").split(" ");
      var checked = groups[i].querySelector("input[type=radio]:checked");
      if (checked && values.indexOf(checked.value) !== -1) {
        return true;
      }
    }
    return false;
  }

  var form = document.querySelector("[data-survey-form]");
  if (form) {
    var store = storage();
    if (store) {
      store.removeItem(KEY);
    }
    form.addEventListener("submit", function () {
      var current = storage();
      if (!current) {
        return;
      }
      if (anyHighAnswer(form)) {
        current.setItem(KEY, "1");
      } else {
        current.removeItem(KEY);
      }
    });
  }

  var support = document.querySelector("[data-support]");
  if (support) {
    var saved = storage();
    var high = saved !== null && saved.getItem(KEY) === "1";
    if (saved) {
      saved.removeItem(KEY);
    }
    var details = support.querySelector("[data-support-details]");
    var note = support.querySelector("[data-support-note]");
    if (high) {
      note.hidden = false;
      details.open = true;
    } else {
      details.open = false;
    }
  }
})();
