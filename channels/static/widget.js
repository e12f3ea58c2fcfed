// 12366 智能咨询 web widget. Embed with
//   <script src="https://host/widget.js" data-api="https://host" data-title="..." data-region="北京市" defer></script>
// (floating launcher), or add data-mount="#selector" to render the chat inline in that element.
// Elements with data-taxbot-ask="question" anywhere on the page send their question when clicked.
// Text is only ever set with textContent; message text is never logged.
// While a human agent has the conversation, or a message queued while the bot was down awaits its answer,
// the widget polls /api/chat/{sender}/messages (agent replies are shown as 人工坐席).
(function () {
  "use strict";
  if (window.Taxbot12366) return;

  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  const data = (script && script.dataset) || {};
  const scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  const API = (data.api || scriptOrigin).replace(/\/+$/, "");
  const TITLE = data.title || "12366 智能咨询";
  const MOUNT = data.mount ? document.querySelector(data.mount) : null;
  const KEY = "taxbot12366:" + API;
  const MAX_HISTORY = 200;
  const NATIONAL = "全国";
  const uid = "tx" + Math.random().toString(36).slice(2, 8);

  // ---- state, kept in localStorage (sender id, chosen region, rendered history) ----
  function newSender() {
    if (window.crypto && crypto.randomUUID) return "web-" + crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  let memory = null;
  function load() {
    try { memory = JSON.parse(localStorage.getItem(KEY)) || memory; } catch (e) { /* storage blocked */ }
    const s = memory || {};
    return {
      sender: s.sender || newSender(), region: s.region || "", regionSent: s.regionSent || "",
      history: Array.isArray(s.history) ? s.history : [],
      withAgent: Boolean(s.withAgent), awaiting: Number(s.awaiting) || 0, lastPushed: Number(s.lastPushed) || 0,
    };
  }
  const state = load();
  if (!state.region && data.region) state.region = data.region;
  function save() {
    state.history = state.history.slice(-MAX_HISTORY);
    memory = state;
    try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* storage blocked or full */ }
  }

  // ---- DOM helpers: elements and textContent only ----
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }
  const sr = (text) => el("span", { class: "tx-sr", text });

  // ---- the panel ----
  const css = document.querySelector('link[data-taxbot-css]') || document.querySelector('link[href$="/widget.css"]');
  if (!css) document.head.append(el("link", { rel: "stylesheet", href: API + "/widget.css", "data-taxbot-css": true }));

  const root = el("div", { class: "tx-root" + (MOUNT ? " tx-inline" : " tx-floating"), lang: "zh-CN" });
  const titleId = uid + "-title";
  const regionSelect = el("select", { id: uid + "-region", class: "tx-select", onchange: onRegion },
    el("option", { value: "", text: NATIONAL + "（不限地区）" }));
  const log = el("div", { class: "tx-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": "对话记录", tabindex: "0" });
  const typing = el("div", { class: "tx-typing", role: "status", hidden: true },
    el("span", { class: "tx-dots", "aria-hidden": "true" }, el("i"), el("i"), el("i")), sr("智能咨询正在回复"));
  const input = el("textarea", { id: uid + "-input", class: "tx-input", rows: "1", placeholder: "请输入您的涉税问题",
    autocomplete: "off", enterkeyhint: "send", onkeydown: onKey });
  const form = el("form", { class: "tx-form", onsubmit: onSubmit },
    el("label", { class: "tx-sr", for: input.id, text: "输入您的问题" }), input,
    el("button", { type: "submit", class: "tx-send", text: "发送" }));
  const closeBtn = MOUNT ? null : el("button", { type: "button", class: "tx-close", "aria-label": "关闭咨询窗口",
    text: "×", onclick: () => setOpen(false) });
  const panel = el("section", { id: uid + "-panel", class: "tx-panel", "aria-labelledby": titleId,
    role: MOUNT ? "region" : "dialog" },
    el("div", { class: "tx-header" }, el("h2", { id: titleId, class: "tx-title", text: TITLE }),
      el("div", { class: "tx-header-tools" },
        el("button", { type: "button", class: "tx-reset", text: "新对话", title: "清除本机保存的对话记录，开始新对话",
          onclick: reset }), closeBtn)),
    el("div", { class: "tx-toolbar" },
      el("label", { class: "tx-region" }, el("span", { text: "所在地区" }), regionSelect),
      el("button", { type: "button", class: "tx-tool tx-human", text: "转人工", onclick: requestHuman }),
      // 信息定制: the subscription page for this conversation (its href follows a reset's new sender id)
      el("a", { class: "tx-tool tx-subscribe", href: API + "/subscribe", target: "_blank", rel: "noopener",
        text: "政策订阅", onclick: (e) => { e.currentTarget.href = API + "/subscribe?sender="
          + encodeURIComponent(state.sender); } })),
    log, typing, form);

  let launcher = null;
  if (MOUNT) {
    root.append(panel);
    MOUNT.append(root);
  } else {
    launcher = el("button", { type: "button", class: "tx-launcher", "aria-expanded": "false",
      "aria-controls": panel.id, onclick: () => setOpen(panel.hidden) },
      el("span", { class: "tx-launcher-icon", "aria-hidden": "true" }), el("span", { text: "在线咨询" }));
    panel.hidden = true;
    panel.addEventListener("keydown", (e) => { if (e.key === "Escape") setOpen(false); });
    root.append(panel, launcher);
    document.body.append(root);
  }

  function setOpen(open) {
    if (!launcher) return;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    root.classList.toggle("tx-open", open);
    if (open) { scrollDown(); input.focus(); } else launcher.focus();
  }

  // ---- rendering history entries ----
  function docUrl(c) {
    const q = c.article ? "?article=" + encodeURIComponent(c.article) : "";
    return API + "/documents/" + encodeURIComponent(c.doc_id) + q;
  }
  function citationCard(c) {
    const local = c.region && c.region !== NATIONAL;
    const valid = !c.status || c.status === "有效";
    const meta = [c.doc_number, c.article].filter(Boolean).join(" · ");
    return el("li", null, el("a", { class: "tx-cite", href: docUrl(c), target: "_blank", rel: "noopener" },
      el("span", { class: "tx-cite-title", text: "《" + (c.title || c.doc_id) + "》" }),
      meta ? el("span", { class: "tx-cite-meta", text: meta }) : null,
      el("span", { class: "tx-cite-tags" },
        el("span", { class: "tx-tag " + (local ? "tx-tag-local" : "tx-tag-national"),
          text: local ? "地方：" + c.region : NATIONAL }),
        c.status ? el("span", { class: "tx-tag " + (valid ? "tx-tag-valid" : "tx-tag-warn"), text: c.status }) : null,
        c.effective ? el("span", { class: "tx-tag tx-tag-date", text: c.effective + " 起施行" }) : null),
      sr("（在新窗口打开）")));
  }
  function feedbackRow(entry, index) {
    const row = el("div", { class: "tx-feedback", role: "group", "aria-label": "这个回答有帮助吗" },
      el("span", { class: "tx-feedback-q", text: entry.feedback ? "感谢您的反馈" : "这个回答有帮助吗？" }));
    for (const [kind, label] of [["positive", "有用"], ["negative", "没用"]]) {
      row.append(el("button", { type: "button", class: "tx-fb tx-fb-" + kind, text: label,
        "aria-pressed": String(entry.feedback === kind), disabled: Boolean(entry.feedback),
        onclick: () => giveFeedback(index, kind) }));
    }
    return row;
  }
  function render(entry, index) {
    if (entry.who === "user") {
      return el("div", { class: "tx-msg tx-msg-user" }, sr("我："), el("div", { class: "tx-bubble", text: entry.text }));
    }
    if (entry.who === "note") return el("div", { class: "tx-msg tx-msg-note", text: entry.text });
    if (entry.who === "error") {
      const error = el("div", { class: "tx-msg tx-msg-error", role: "alert" }, el("div", { class: "tx-bubble", text: entry.text }));
      if (!entry.retry) return error;
      const wrap = el("div", { class: "tx-retry-wrap" }, error);  // 重试 sends the same text again: nothing typed is lost
      wrap.append(el("div", { class: "tx-buttons" }, el("button", { type: "button", class: "tx-choice tx-retry", text: "重试",
        onclick: () => { wrap.remove(); send(entry.retry, null); } })));
      return wrap;
    }
    if (entry.who === "agent") {
      return el("div", { class: "tx-msg tx-msg-bot tx-msg-agent" }, el("div", { class: "tx-agent", text: "人工坐席" }),
        el("div", { class: "tx-bubble", text: entry.text }));
    }
    const node = el("div", { class: "tx-msg tx-msg-bot", "data-index": String(index) }, sr("智能咨询："));
    if (entry.text) node.append(el("div", { class: "tx-bubble", text: entry.text }));
    if (/^https?:\/\//i.test(entry.image || "")) {
      node.append(el("a", { class: "tx-link", href: entry.image, target: "_blank", rel: "noopener", text: "查看图片" }));
    }
    if (entry.buttons && entry.buttons.length) {
      const group = el("div", { class: "tx-buttons", role: "group", "aria-label": "可选回复" });
      entry.buttons.forEach((b, i) => group.append(el("button", { type: "button", class: "tx-choice", text: b.title,
        disabled: entry.chosen !== undefined, "aria-pressed": entry.chosen === undefined ? null : String(entry.chosen === i),
        onclick: () => choose(index, i) })));
      node.append(group);
    }
    if (entry.citations && entry.citations.length) {
      node.append(el("ul", { class: "tx-cites", "aria-label": "政策依据" }, ...entry.citations.map(citationCard)));
    }
    if (entry.handoff) {
      node.append(el("div", { class: "tx-buttons" }, el("button", { type: "button", class: "tx-choice", text: "转人工",
        onclick: requestHuman })));
    }
    if (entry.answer) node.append(feedbackRow(entry, index));
    return node;
  }
  function rerender(index) {
    const old = log.querySelector('[data-index="' + index + '"]');
    if (old) old.replaceWith(render(state.history[index], index));
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function append(entry, persist) {
    if (persist !== false) { state.history.push(entry); save(); }
    const node = render(entry, persist === false ? -1 : state.history.length - 1);
    log.append(node);
    scrollDown();
    return node;
  }
  function showFromTop(node) {  // a long answer is read from its start, not its end
    if (log.scrollHeight - node.offsetTop > log.clientHeight) log.scrollTop = node.offsetTop - 8;
  }

  // ---- talking to the API ----
  async function detailOf(resp) {
    try {
      const body = await resp.json();
      if (typeof body.detail === "string") return body.detail;
      if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("；");
    } catch (e) { /* not JSON */ }
    return "智能咨询暂时不可用（" + resp.status + "），请稍后再试或拨打12366纳税缴费服务热线。";
  }
  function toEntries(messages) {
    const out = [];
    for (const m of messages || []) {
      let entry = null;
      if (m.text || m.image) {
        entry = { who: "bot", text: m.text || "", image: m.image || undefined, buttons: m.buttons || [] };
        out.push(entry);
      } else if (m.buttons && out.length) {
        out[out.length - 1].buttons = (out[out.length - 1].buttons || []).concat(m.buttons);
      }
      if (m.custom && typeof m.custom === "object") {
        const target = entry || out[out.length - 1] || (out.push({ who: "bot", text: "" }), out[out.length - 1]);
        target.citations = Array.isArray(m.custom.citations) ? m.custom.citations.filter((c) => c && c.doc_id) : [];
        target.answer = ["faq", "article", "calculation"].includes(m.custom.answer_kind);
        target.handoff = Boolean(m.custom.handoff);
      }
    }
    return out.filter((e) => e.text || e.image || (e.buttons && e.buttons.length) || (e.citations && e.citations.length));
  }
  async function post(message) {
    let resp;
    try {
      resp = await fetch(API + "/api/chat", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: state.sender, message }) });
    } catch (e) {
      return { error: "无法连接智能咨询服务，请检查网络后重试，或拨打12366纳税缴费服务热线。", retry: true };
    }
    // 429 (too many messages): the server's message says how long to wait; 重试 then sends it again
    if (!resp.ok) return { error: await detailOf(resp), retry: resp.status >= 500 || resp.status === 429 };
    try { return { messages: await resp.json() }; } catch (e) { return { error: "智能咨询返回了无法识别的答复，请稍后再试。" }; }
  }
  let queue = Promise.resolve();
  let pending = 0;
  function send(message, shown, options) {
    const quiet = options && options.quiet;
    if (shown) append({ who: "user", text: shown });
    pending += 1;
    typing.hidden = false;
    scrollDown();
    queue = queue.then(async () => {
      if (state.region && state.regionSent !== state.region && !message.startsWith("/inform_region")) {
        await deliver(informRegion(state.region), true);
      }
      await deliver(message, quiet);
    }).catch(() => append({ who: "error", text: "出现意外错误，请重试。" }, false)).finally(() => {
      pending -= 1;
      typing.hidden = pending === 0;
    });
    return queue;
  }
  async function deliver(message, quiet) {
    const result = await post(message);
    if (result.error) { append({ who: "error", text: result.error, retry: result.retry ? message : null }, false); return; }
    const custom = (result.messages || []).map((m) => m.custom || {});
    if (custom.some((c) => c.retry)) {  // not even queued: offer to send it again
      const said = (result.messages || []).map((m) => m.text).filter(Boolean).join("\n");
      append({ who: "error", text: said || "智能咨询暂时不可用，请稍后重试。", retry: message }, false);
      return;
    }
    if (message.startsWith("/inform_region")) { state.regionSent = state.region; save(); }
    const entries = toEntries(result.messages);
    if (!entries.length && !quiet) append({ who: "note", text: "暂未收到答复，您可以换个说法再问，或点击“转人工”。" }, false);
    const nodes = entries.map((e) => append(e));
    if (nodes.length) showFromTop(nodes[0]);
    if (custom.some((c) => c.handoff_queued || c.answer_kind === "with_agent")) state.withAgent = true;
    if (custom.some((c) => c.poll)) state.awaiting += 1;  // queued while the bot was down: answered later
    if (state.withAgent || state.awaiting) { save(); watch(); }
  }

  // ---- messages pushed later (an agent's replies, answers to queued messages), polled while expected ----
  let pollTimer = null;
  function watch() {
    if (!pollTimer) pollTimer = setTimeout(poll, 500);
  }
  async function poll() {
    pollTimer = null;
    const sender = state.sender;
    let body = null;
    try {
      const resp = await fetch(API + "/api/chat/" + encodeURIComponent(sender) + "/messages?after=" + state.lastPushed);
      if (resp.ok) body = await resp.json();
    } catch (e) { /* offline for a moment: ask again later */ }
    if (sender !== state.sender) return;  // a new conversation was started meanwhile
    let wait = 10000;
    if (body) {
      for (const m of body.messages || []) {
        if (m.id <= state.lastPushed) continue;  // already shown (an overlapping poll)
        state.lastPushed = m.id;
        const node = append(m.role === "agent" ? { who: "agent", text: m.text } : { who: "bot", text: m.text });
        showFromTop(node);
        if (m.role !== "agent" && state.awaiting > 0) state.awaiting -= 1;
      }
      state.withAgent = Boolean(body.handoff);
      save();
      wait = (body.poll_seconds || 3) * 1000;
    }
    if ((state.withAgent || state.awaiting) && !pollTimer) pollTimer = setTimeout(poll, wait);
  }
  function informRegion(region) { return "/inform_region" + JSON.stringify({ region: region || NATIONAL }); }

  // ---- user actions ----
  function onSubmit(e) {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) { input.focus(); return; }
    input.value = "";
    send(text, text);
  }
  function onKey(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      form.requestSubmit();
    }
  }
  function choose(index, i) {
    const entry = state.history[index];
    if (!entry || entry.chosen !== undefined) return;
    entry.chosen = i;
    save();
    rerender(index);
    input.focus();
    send(entry.buttons[i].payload, entry.buttons[i].title);
  }
  function giveFeedback(index, kind) {
    const entry = state.history[index];
    if (!entry || entry.feedback) return;
    entry.feedback = kind;
    save();
    rerender(index);
    input.focus();
    send("/feedback_" + kind, null, { quiet: true });
  }
  function requestHuman() { send("/request_human", "转人工"); }
  function onRegion() {
    state.region = regionSelect.value;
    save();
    send(informRegion(state.region), "所在地区：" + (state.region || NATIONAL));
  }
  function reset() {
    state.sender = newSender();
    state.history = [];
    state.regionSent = "";
    state.withAgent = false;
    state.awaiting = 0;
    state.lastPushed = 0;
    clearTimeout(pollTimer);
    pollTimer = null;
    save();
    log.replaceChildren();
    greet();
    input.focus();
  }
  function greet() {
    append({ who: "note", text: "您好！请直接输入您的涉税问题，例如“小规模纳税人增值税征收率是多少”。请勿输入身份证号、银行卡号等个人敏感信息。" }, false);
  }
  document.addEventListener("click", (e) => {
    const ask = e.target.closest && e.target.closest("[data-taxbot-ask]");
    if (!ask) return;
    e.preventDefault();
    if (launcher && panel.hidden) setOpen(true);
    send(ask.dataset.taxbotAsk, ask.dataset.taxbotAsk);
  });

  // ---- regions ----
  function fillRegions(groups) {
    for (const g of groups) {
      regionSelect.append(el("optgroup", { label: g.label }, ...g.regions.map((r) => el("option", { value: r, text: r }))));
    }
    if (state.region && !regionSelect.querySelector('option[value="' + CSS.escape(state.region) + '"]')) {
      regionSelect.append(el("option", { value: state.region, text: state.region }));
    }
    regionSelect.value = state.region;
  }
  fetch(API + "/api/regions").then((r) => (r.ok ? r.json() : { groups: [] }))
    .catch(() => ({ groups: [] })).then((body) => fillRegions(body.groups || []));

  // ---- start ----
  greet();
  state.history.forEach((entry, i) => log.append(render(entry, i)));
  scrollDown();
  if (state.withAgent || state.awaiting) watch();
  window.Taxbot12366 = { send: (text) => send(text, text), open: () => setOpen(true), close: () => setOpen(false) };
})();
