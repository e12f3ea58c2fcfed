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

/* The handoff desk: the queue and a conversation kept current from the API's Server-Sent Events. */
(function () {
  "use strict";
  var ROLES = { taxpayer: "纳税人", bot: "智能咨询", agent: "人工坐席" };
  var offset = 0;  // server clock minus ours, so waiting times count from the server's view
  var sources = [];
  var leaving = false;  // a form was sent: its answer, not a stream update, decides the next page

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    if (text instanceof Node) { td.appendChild(text); } else { td.textContent = text; }
    row.appendChild(td);
    return td;
  }

  function waited(created) {
    var seconds = Math.max(0, (Date.now() + offset - Date.parse(created)) / 1000);
    return seconds < 60 ? Math.floor(seconds) + " 秒" : Math.floor(seconds / 60) + " 分钟";
  }

  function tick() {
    document.querySelectorAll("td.waited[data-created]").forEach(function (td) {
      td.textContent = waited(td.getAttribute("data-created"));
    });
  }

  function renderQueue(table, rows) {
    var body = table.tBodies[0];
    body.textContent = "";
    rows.forEach(function (h) {
      var row = document.createElement("tr");
      row.setAttribute("data-id", h.id);
      var link = document.createElement("a");
      link.href = "/staff/handoffs/" + h.id;
      link.textContent = "#" + h.id;
      cell(row, link);
      cell(row, h.channel);
      cell(row, h.reason_text);
      cell(row, h.region);
      cell(row, waited(h.created_at), "waited").setAttribute("data-created", h.created_at);
      cell(row, h.status_text + (h.claimed_by ? "（" + h.claimed_by + "）" : ""));
      cell(row, h.question || "—");
      var attempt = h.last_attempt;
      var td = cell(row, attempt ? attempt.text.slice(0, 80) : "—");
      if (attempt && attempt.sources.length) {
        var note = document.createElement("span");
        note.className = "note";
        note.textContent = "依据：" + attempt.sources.join("、");
        td.appendChild(document.createElement("br"));
        td.appendChild(note);
      }
      body.appendChild(row);
    });
    if (!rows.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      cell(empty, "暂无等待人工的会话").colSpan = 8;
      body.appendChild(empty);
    }
  }

  function renderTranscript(list, turns) {
    list.textContent = "";
    turns.forEach(function (t) {
      var item = document.createElement("li");
      item.className = "turn turn-" + t.role;
      item.setAttribute("data-id", t.id);
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = ROLES[t.role] || t.role;
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = t.text;
      item.appendChild(who);
      item.appendChild(text);
      if (t.undelivered) {
        var mark = document.createElement("span");
        mark.className = "undelivered";
        mark.textContent = "（未送达）";
        item.appendChild(mark);
      }
      list.appendChild(item);
    });
  }

  function listen(url, onData) {
    var live = document.getElementById("queue-live");
    var source = new EventSource(url);
    sources.push(source);
    source.onmessage = function (event) {
      if (leaving) { return; }
      var body = JSON.parse(event.data);
      offset = Date.parse(body.server_time) - Date.now();
      onData(body.data);
      if (live) { live.textContent = "队列实时更新中。"; }
    };
    source.addEventListener("gone", function () { source.close(); });
    source.onerror = function () {
      if (live && source.readyState === EventSource.CONNECTING) { live.textContent = "连接中断，正在重连…"; }
    };
  }

  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) { return; }  // e.g. a confirmation declined
    leaving = true;
    sources.forEach(function (source) { source.close(); });
  });

  var queue = document.getElementById("handoff-queue");
  if (queue) {
    listen(queue.getAttribute("data-stream"), function (rows) { renderQueue(queue, rows); });
    setInterval(tick, 1000);
  }
  var state = document.getElementById("handoff-state");
  if (state) {
    listen(state.getAttribute("data-stream"), function (h) {
      renderTranscript(document.getElementById("transcript"), h.transcript);
      var changed = h.status !== state.getAttribute("data-status") ||
        (h.claimed_by || "") !== state.getAttribute("data-claimed-by");
      if (!changed) { return; }
      var draft = document.getElementById("reply-text");
      if (draft && draft.value.trim()) {
        document.getElementById("handoff-status").textContent = h.status_text + "（已变化，请刷新页面）";
      } else {
        window.location.replace(window.location.pathname);
      }
    });
  }
})();
