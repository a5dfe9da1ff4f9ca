// Sends the app's CSRF token with every request rq-dashboard's jQuery makes.
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && window.jQuery) {
    window.jQuery.ajaxSetup({ headers: { "X-CSRFToken": meta.getAttribute("content") } });
  }
})();
