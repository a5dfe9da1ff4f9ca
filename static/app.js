// Cutroom's own script, on every page (the CSP allows same-origin scripts only: no inline
// code, no handlers in attributes). Everything works without it; it adds two things.
//
// 1. The phone menu: below the breakpoint the header's links fold behind the Menu button.
// 2. A launched job's card, put at the top of the list, is scrolled into view when it is
//    not already on screen (on a phone the test tasks sit below the list).
// 3. Answers that never came: a network failure, or an error page from a proxy (502, 504)
//    that htmx does not swap in, says so in the page's message area (#flash) instead of
//    nothing happening; a failing poll of the page's live parts (the page's one poller,
//    webapp/live) says once that updates are paused, and the note goes when a poll gets
//    through again; when the session has ended, polling stops after the one alert that
//    says so.
// 4. Polite announcements: when a poll brings a job card back with a new status (out of
//    band), its title and status go into the page's live region (#announcer), so a screen
//    reader says "Countdown: Finished" once, instead of the whole card being re-read.
// 5. A card a poll brings to the top of the list (a job started in another tab) that the
//    page already shows (it was launched here meanwhile) is not shown twice.
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

  var POLL_NOTE = "Live updates are paused: the server cannot be reached right now. " +
                  "They resume by themselves.";

  function isPoll(detail) {
    var trigger = detail.elt && detail.elt.getAttribute("hx-trigger");
    return Boolean(trigger && trigger.indexOf("every") === 0);
  }

  function note(kind, text) {
    var region = document.getElementById("flash");
    if (!region) {
      return;
    }
    var old = region.querySelector("[data-problem]");
    if (old && old.getAttribute("data-problem") === kind && old.textContent === text) {
      return;  // said already
    }
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.setAttribute("role", "alert");
    p.setAttribute("data-problem", kind);
    p.textContent = text;
    region.replaceChildren(p);
  }

  function clearNote(kind) {
    var old = document.querySelector("#flash [data-problem='" + kind + "']");
    if (old) {
      old.remove();
    }
  }

  function unanswered(event) {
    var detail = event.detail;
    var status = detail.xhr ? detail.xhr.status : 0;
    if (isPoll(detail)) {
      note("poll", POLL_NOTE);
    } else if (status) {
      note("action", "The server did not answer properly (HTTP " + status + "). " +
           "What you asked for may not have happened: check, and try again.");
    } else {
      note("action", "The server cannot be reached: check your connection, then try again.");
    }
  }

  document.addEventListener("htmx:sendError", unanswered);
  document.addEventListener("htmx:responseError", unanswered);
  // Before the swap, while the element that asked is still in the page (a card's poll
  // replaces it, and events on a removed element reach no listener here).
  function answered(event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status >= 200 && status < 400) {
      clearNote(isPoll(event.detail) ? "poll" : "action");
    } else if (status === 401 && isPoll(event.detail)) {
      stopPolling();
    }
  }

  // Signed out meanwhile (the session ended elsewhere): the alert says so once; every live
  // part stops asking, or each poll would repeat it. A copy without its trigger takes each
  // poller's place (htmx stops polling an element no longer in the page); its buttons stay
  // plain forms, which lead to the sign-in page.
  function stopPolling() {
    document.querySelectorAll("[hx-trigger^='every']").forEach(function (elt) {
      var copy = elt.cloneNode(true);
      copy.removeAttribute("hx-trigger");
      copy.removeAttribute("hx-get");
      elt.replaceWith(copy);
    });
  }

  document.addEventListener("htmx:beforeSwap", answered);
  document.addEventListener("htmx:afterRequest", answered);

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

  // Said together: one poll may bring several cards with a new status.
  var toSay = [];

  function announce(text) {
    toSay.push(text);
    if (toSay.length === 1) {
      setTimeout(function () {
        var region = document.getElementById("announcer");
        if (region) {
          region.textContent = toSay.join(". ");
        }
        toSay = [];
      }, 0);
    }
  }

  function remember(event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("job-card") && target.id) {
      before[target.id] = cardState(target).status;
    }
  }

  document.addEventListener("htmx:beforeSwap", remember);
  document.addEventListener("htmx:oobBeforeSwap", remember);

  function announceChange(id) {
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
  }

  // A poll's cards come out of band: announced once each is in the page.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    announceChange(event.detail.target && event.detail.target.id);
  });

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "job-list" && event.detail.fragment) {
      event.detail.fragment.querySelectorAll(".job-card[id]").forEach(function (card) {
        if (document.getElementById(card.id)) {
          card.remove();
        }
      });
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
    announceChange(id);
  });
})();
