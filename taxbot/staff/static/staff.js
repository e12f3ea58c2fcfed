/* The staff console's little bit of JavaScript: copy buttons, confirmations, the citation picker. */
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  function onCopy(button) {
    copyText(button.getAttribute("data-copy") || "").then(function () {
      var label = button.textContent;
      button.textContent = "已复制";
      button.setAttribute("data-copied", "true");
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  }

  function addCitation(docId, article) {
    var box = document.getElementById("citations");
    var line = docId + "#" + article;
    var lines = box.value.split("\n").filter(function (l) { return l.trim(); });
    if (lines.indexOf(line) < 0) { lines.push(line); }
    box.value = lines.join("\n");
  }

  function pick() {
    var q = document.getElementById("picker-q").value.trim();
    var list = document.getElementById("picker-results");
    if (!q) { return; }
    list.textContent = "检索中…";
    fetch("/api/staff/search?k=10&history=true&q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        list.textContent = "";
        body.hits.filter(function (h) { return h.kind === "article"; }).forEach(function (h) {
          var item = document.createElement("li");
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = "引用";
          button.setAttribute("aria-label", "引用 " + h.title + " " + h.article);
          button.addEventListener("click", function () { addCitation(h.doc_id, h.article); });
          item.appendChild(button);
          item.appendChild(document.createTextNode(" " + h.title + " " + h.article + "：" + h.text.slice(0, 80)));
          list.appendChild(item);
        });
        if (!list.children.length) { list.textContent = "没有找到条文。"; }
      })
      .catch(function () { list.textContent = "检索失败，请稍后再试。"; });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches && target.matches("button.copy")) { onCopy(target); }
    if (target.id === "picker-go") { pick(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.target.id === "picker-q" && event.key === "Enter") { event.preventDefault(); pick(); }
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
})();
