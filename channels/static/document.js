// The document page: bring the cited article (server-marked .tx-article-current) into view and focus it.
(function () {
  "use strict";
  var current = document.querySelector(".tx-article-current");
  if (!current || window.location.hash) return;
  current.scrollIntoView({ block: "start" });
  current.focus({ preventScroll: true });
})();
