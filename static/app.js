// Cutroom's own script, on every page (the CSP allows same-origin scripts only: no inline
// code, no handlers in attributes). Everything works without it; it adds two things.
//
// 1. The phone menu: below the breakpoint the header's links fold behind the Menu button.
// 2. A launched job's card, put at the top of the list, is scrolled into view when it is
//    not already on screen (on a phone the test tasks sit below the list).
// 3. Polite announcements: when a polled job card comes back with a new status, its title
//    and status go into the page's live region (#announcer), so a screen reader says
//    "Countdown: Finished" once, instead of the whole card being re-read every poll.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function setMenu(header, open) {
    header.classList.toggle("menu-open", open);
    header.querySelector(".menu-button").setAttribute("aria-expanded", String(open));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".menu-button");
    if (button) {
      var header = button.closest(".topbar");
      setMenu(header, !header.classList.contains("menu-open"));
    }
  });

  document.addEventListener("keydown", function (event) {
    var header = document.querySelector(".topbar.menu-open");
    if (event.key === "Escape" && header) {
      setMenu(header, false);
      header.querySelector(".menu-button").focus();
    }
  });

  // A card's status before a swap, by card id.
  var before = {};

  function cardState(card) {
    var badge = card.querySelector(".badge");
    var title = card.querySelector(".job-title");
    return {
      status: card.getAttribute("data-status"),
      text: (title ? title.textContent.trim() : "Job") + ": " +
            (badge ? badge.textContent.trim() : card.getAttribute("data-status")),
    };
  }

  function announce(text) {
    var region = document.getElementById("announcer");
    if (region) {
      region.textContent = text;
    }
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("job-card") && target.id) {
      before[target.id] = cardState(target).status;
    }
  });

  function showNewCard(detail) {
    var card = document.querySelector("#job-list > .job-card");
    if (card && detail.xhr && detail.xhr.status < 300) {
      var reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      card.scrollIntoView({block: "nearest", behavior: reduce ? "auto" : "smooth"});
    }
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var id = event.detail.target && event.detail.target.id;
    if (id && id.indexOf("launch-") === 0) {
      showNewCard(event.detail);
    }
    if (!id || !(id in before)) {
      return;
    }
    var previous = before[id];
    delete before[id];
    var card = document.getElementById(id);
    if (card && card.classList.contains("job-card")) {
      var now = cardState(card);
      if (now.status !== previous) {
        announce(now.text);
      }
    }
  });
})();
