// The milestone-bot chat page. Plain script, no build step, no network beyond this server.
// Protocol: docs/PROTOCOL.md. Every piece of message text is set with textContent, never as HTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  const TOKEN_KEY = "milestone-bot.token";
  const app = {
    token: null,
    user: null,
    moderator: false,
    testMoney: false,
    ws: null,
    online: false,          // hello received on the current socket
    retry: 0,               // reconnect attempts since the last hello
    retryTimer: null,
    stopped: false,         // the token was refused: do not reconnect
    threads: [],
    thread: null,           // the open thread id
    joined: false,          // `joined` received for `thread` on this socket
    lastSeq: 0,             // highest seq seen in `thread`
    lowestSeq: null,        // lowest seq shown (for "load earlier")
    seen: new Set(),        // seqs rendered in `thread`
    state: null,            // the latest `state` frame of `thread`
    outbox: [],             // {id, thread, text, status: queued|sent|failed, node, error}
    completion: { open: false, items: [], index: -1 },
    attachments: [],        // {key, file, status: uploading|ready|failed, id, progress, xhr, error} for the next line
    files: new Map(),       // file id -> its description (name, size, content_type ...) in `thread`
    reads: Object.create(null),  // user -> {seq, at, role}: each party's read marker in `thread` (no prototype: ids are keys)
    myReadSent: 0,          // the highest seq this page told the server the user has seen in `thread`
    dividerPlaced: false,   // the "New messages" line was placed after joining `thread`
    newBelow: 0,            // live messages by others that arrived while scrolled up
    loadingOlder: false,    // a "load earlier" page is on its way
    typing: Object.create(null), // user -> when their last `typing` arrived
    lastTypingSent: 0,
    notify: false,          // browser notifications for lines that arrive while the tab is hidden
  };
  const BASE_TITLE = document.title;

  // ---------- connection state ----------
  function setConn(state, text) {
    const node = $("conn");
    node.dataset.state = state;
    node.textContent = text;
  }

  // ---------- HTTP ----------
  async function api(path, options = {}) {
    const headers = Object.assign({ Authorization: "Bearer " + app.token }, options.headers || {});
    const response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
    let body = null;
    const type = response.headers.get("content-type") || "";
    if (type.includes("json")) body = await response.json().catch(() => null);
    else body = await response.text().catch(() => null);
    if (!response.ok) {
      const error = new Error((body && body.error && body.error.message) || ("HTTP " + response.status));
      error.status = response.status;
      error.code = body && body.error && body.error.code;
      throw error;
    }
    return body;
  }

  // ---------- money and time ----------
  function fractionDigits(currency) {
    try { return new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions().maximumFractionDigits; }
    catch (_) { return 2; }
  }
  function money(minor, currency) {
    if (minor === null || minor === undefined) return "—";
    const digits = fractionDigits(currency || "USD");
    const value = minor / Math.pow(10, digits);
    try { return new Intl.NumberFormat("en-US", { style: "currency", currency: currency || "USD" }).format(value); }
    catch (_) { return value.toFixed(digits) + " " + currency; }
  }
  function age(seconds) {
    if (seconds < 90) return "just now";
    if (seconds < 5400) return Math.round(seconds / 60) + " min";
    if (seconds < 172800) return Math.round(seconds / 3600) + " h";
    return Math.round(seconds / 86400) + " days";
  }
  // Every time on the page is in UTC and says so, as the bot's own lines do ("2026-12-17 08:06 UTC"); the
  // full time on hover also gives the reader's own.
  function utc(date, options) {
    return new Intl.DateTimeFormat("en-US", Object.assign({ timeZone: "UTC" }, options)).format(date);
  }
  function when(iso, withDate) {
    if (!iso) return "";
    const date = new Date(iso);
    if (isNaN(date)) return iso;
    const time = utc(date, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    return withDate ? utc(date, { year: "numeric", month: "short", day: "numeric" }) + ", " + time + " UTC" : time;
  }
  function fullTime(iso) {
    const date = new Date(iso);
    if (!iso || isNaN(date)) return iso || "";
    return utc(date, { weekday: "long", year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }) +
      " UTC (" + date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) + " your time)";
  }
  function dayLabel(iso) {
    const key = iso.slice(0, 10);
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
    const day = utc(new Date(iso), { weekday: "long", year: "numeric", month: "long", day: "numeric" });
    return (key === today ? "Today, " : key === yesterday ? "Yesterday, " : "") + day + " (UTC)";
  }
  /// What a person reads as characters: grapheme clusters, as the server counts a line's length.
  const segmenter = typeof Intl.Segmenter === "function" ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  function characters(text) {
    if (!segmenter) return Array.from(text).length;
    let count = 0;
    for (const _ of segmenter.segment(text)) count += 1;
    return count;
  }

  // ---------- sign-in ----------
  function readToken() {
    const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
    const fromHash = hash.get("token");
    if (fromHash) {
      sessionStorage.setItem(TOKEN_KEY, fromHash);
      hash.delete("token");
      const rest = hash.toString();
      history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
      return fromHash;
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function showSignin(message) {
    $("app").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = message || "";
    setConn("signed-out", "Signed out");
    $("signin-token").focus();
  }

  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("signin-token").value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    start(token);
  });

  async function start(token) {
    app.token = token;
    app.stopped = false;
    $("signin").hidden = true;
    $("app").hidden = false;
    connect();
  }

  // ---------- WebSocket ----------
  async function connect() {
    clearTimeout(app.retryTimer);
    if (app.stopped) return;
    setConn("connecting", app.retry ? "Reconnecting…" : "Connecting…");
    let ticket;
    try {
      ticket = (await api("/api/ws-ticket", { method: "POST" })).ticket;
    } catch (error) {
      if (error.status === 401) { signOut("The token was refused: " + error.message); return; }
      scheduleReconnect();
      return;
    }
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let ws;
    try { ws = new WebSocket(scheme + location.host + "/ws?ticket=" + encodeURIComponent(ticket)); }
    catch (_) { scheduleReconnect(); return; }
    app.ws = ws;
    app.online = false;
    app.joined = false;
    ws.onmessage = (event) => {
      if (ws !== app.ws) return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      handle(frame);
    };
    ws.onclose = (event) => {
      if (ws !== app.ws) return;
      app.ws = null;
      app.online = false;
      app.joined = false;
      renderOutbox();
      updateComposer();
      if (event.code === 4401 && event.reason === "token_expired") {
        signOut("Your sign-in expired. Open the link from the platform again, or paste a fresh token.");
        return;
      }
      if (event.code === 4401) { signOut("The server refused the sign-in (" + (event.reason || "4401") + ")."); return; }
      if (event.code === 4403) { app.stopped = true; setConn("offline", "Refused: this page's origin is not allowed"); return; }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (app.stopped) return;
    const delay = Math.min(500 * Math.pow(2, app.retry), 4000);
    app.retry += 1;
    setConn("offline", "Offline — reconnecting in " + Math.ceil(delay / 1000) + " s");
    clearTimeout(app.retryTimer);
    app.retryTimer = setTimeout(connect, delay);
  }

  function signOut(message) {
    app.stopped = true;
    if (app.ws) { try { app.ws.close(); } catch (_) {} }
    sessionStorage.removeItem(TOKEN_KEY);
    // Unsent lines stay: signed in again (the same person), they are sent then.
    $("who").textContent = "";
    $("notify").hidden = true;
    showSignin(message);
  }

  window.addEventListener("online", () => { if (!app.ws && !app.stopped) connect(); });

  // Token refresh: the platform puts a fresh token in the fragment (`#token=...`) of the page it shows;
  // an open connection takes it with an `auth` envelope and lives on to the new token's expiry.
  window.addEventListener("hashchange", () => {
    const token = readToken();
    if (!token || token === app.token) return;
    app.token = token;
    if (!send({ type: "auth", token })) connect();
  });

  function send(frame) {
    if (!app.ws || app.ws.readyState !== WebSocket.OPEN) return false;
    app.ws.send(JSON.stringify(frame));
    return true;
  }

  function handle(frame) {
    switch (frame.type) {
      case "hello": return onHello(frame);
      case "history": return onHistory(frame);
      case "message":
      case "notice": return onMessage(frame);
      case "joined": return onJoined(frame);
      case "state": return onState(frame);
      case "ack": return onAck(frame);
      case "error": return onError(frame);
      case "authenticated": return setConn("online", "Online");
      case "read": return onRead(frame);
      case "typing": return onTyping(frame);
    }
  }

  function onHello(frame) {
    app.online = true;
    app.retry = 0;
    app.user = frame.user;
    app.moderator = !!frame.moderator;
    app.testMoney = !!frame.test_money;
    $("who").textContent = app.user + (app.moderator ? " (moderator)" : "");
    // Lines left unsent by someone else who used this tab are not this user's to send.
    const before = app.outbox.length;
    app.outbox = app.outbox.filter((entry) => !entry.user || entry.user === app.user);
    if (app.outbox.length !== before) renderOutbox();
    $("notify").hidden = !("Notification" in window);
    $("test-money").hidden = !app.testMoney;
    $("disputes-box").hidden = !app.moderator;
    $("mod-box").hidden = !app.moderator;
    setConn("online", "Online");
    loadThreads();
    if (app.moderator) loadDisputes();
    if (app.thread) joinCurrent();
  }

  function joinCurrent() {
    app.joined = false;
    const frame = { type: "join", thread: app.thread };
    if (app.lastSeq > 0) frame.after = app.lastSeq;   // resume: exactly what was missed, in order
    send(frame);
  }

  // ---------- threads ----------
  // The thread list: the most recently active first (the server's order), each with its newest line and
  // what is unread; refreshed every 15 s and when the tab comes back, so other threads' counts move too.
  async function loadThreads() {
    try {
      const body = await api("/api/threads");
      app.threads = body.threads || [];
    } catch (_) { return; }
    updateUnread();
    if (!app.thread && app.threads.length) {
      const wanted = new URLSearchParams(location.hash.replace(/^#/, "")).get("thread");
      let pick = app.threads.find((t) => t.thread === wanted);
      // A moderator starts where the work is: the oldest open dispute.
      if (!pick && app.moderator) {
        try {
          const oldest = ((await api("/api/disputes")).disputes || [])[0];
          if (oldest) pick = app.threads.find((t) => t.thread === oldest.thread);
        } catch (_) {}
      }
      if (!app.thread) openThread((pick || app.threads[0]).thread);
    }
  }
  // Parties' lists are short; a moderator's holds every contract, and the dispute queue is theirs to watch.
  setInterval(() => { if (app.online && !document.hidden && !app.moderator) loadThreads(); }, 15000);

  // Rebuilt only when something shown changed: a rebuild on every message would take the keyboard focus
  // away from a thread button (and lose a click landing during it).
  let threadsShown = "";
  function renderThreads() {
    const list = $("threads");
    const shown = JSON.stringify([app.thread, app.threads.map((t) => [t.thread, t.title, t.role, t.phase, t.unread || 0, t.preview, t.last_at])]);
    if (shown === threadsShown && list.children.length) return;
    threadsShown = shown;
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.thread : null;
    list.replaceChildren();
    if (!app.threads.length) { list.append(el("li", "sub", "No threads yet.")); return; }
    for (const thread of app.threads) {
      const item = el("li");
      const button = el("button", null);
      button.type = "button";
      button.dataset.thread = thread.thread;
      button.dataset.unread = String(thread.unread || 0);
      if (thread.thread === app.thread) button.setAttribute("aria-current", "true");
      if (thread.unread) {
        const badge = el("span", "unread", String(thread.unread));
        badge.setAttribute("aria-label", thread.unread + " unread");
        button.append(badge);
      }
      const title = el("span", "title", thread.title || thread.thread);
      title.dir = "auto";
      button.append(title);
      button.append(el("span", "sub", thread.role + " · " + thread.phase + " · " + thread.buyer + " ↔ " + thread.freelancer));
      if (thread.preview) {
        const preview = el("span", "preview", (thread.last_at ? when(thread.last_at) + " · " : "") + thread.preview);
        preview.dir = "auto";
        button.append(preview);
      }
      button.addEventListener("click", () => openThread(thread.thread));
      item.append(button);
      list.append(item);
      if (focused === thread.thread) button.focus();
    }
  }

  // Unread: people's lines by others after the user's own read marker. The open thread's count is
  // worked out here from what is on screen; the others' come from the server's thread list.
  function unreadInOpenThread() {
    const read = Math.max(app.myReadSent, (app.reads[app.user] || {}).seq || 0);
    let count = 0;
    for (const node of $("messages").querySelectorAll("li.msg")) {
      const kind = node.dataset.kind;
      if (Number(node.dataset.seq) > read && (kind === "chat" || kind === "note") && node.dataset.author && node.dataset.author !== app.user) count += 1;
    }
    return count;
  }
  function updateUnread() {
    const open = app.threads.find((t) => t.thread === app.thread);
    if (open && !app.moderator && app.joined) open.unread = unreadInOpenThread();
    renderThreads();
    const total = app.threads.reduce((sum, t) => sum + (t.unread || 0), 0);
    document.title = (total ? "(" + total + ") " : "") + BASE_TITLE;
  }

  function openThread(id) {
    if (app.thread === id) return;
    if (app.thread && app.online) send({ type: "leave", thread: app.thread });
    app.thread = id;
    app.joined = false;
    app.lastSeq = 0;
    app.lowestSeq = null;
    app.seen = new Set();
    app.state = null;
    app.files = new Map();
    app.reads = Object.create(null);
    app.myReadSent = 0;
    app.dividerPlaced = false;
    app.newBelow = 0;
    app.typing = Object.create(null);
    $("jump").hidden = true;
    $("typing").textContent = "";
    $("held-now").hidden = true;
    $("messages").replaceChildren();
    if ($("case-files")) $("case-files").replaceChildren();
    $("older").hidden = true;
    $("thread-title").textContent = (app.threads.find((t) => t.thread === id) || {}).title || id;
    $("thread-meta").textContent = "";
    $("milestones").replaceChildren();
    $("contract-summary").textContent = "";
    $("actions").replaceChildren();
    $("chain").textContent = "Chain: not checked yet";
    $("chain").dataset.intact = "unknown";
    renderThreads();
    renderOutbox();
    renderAttachments();
    updateComposer();
    loadFiles();
    if (app.online) joinCurrent();
  }

  // ---------- messages ----------
  function atBottom() {
    const scroller = $("scroller");
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function onHistory(frame) {
    if (frame.thread !== app.thread) return;
    const scroller = $("scroller");
    // An earlier page goes above what is being read: the reading position stays where it was.
    const older = app.loadingOlder;
    app.loadingOlder = false;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    for (const message of frame.messages || []) addMessage(message, { older });
    $("older").hidden = !frame.has_more;
    decorate();
    if (older) scroller.scrollTop = scroller.scrollHeight - fromBottom;
  }

  function onMessage(frame) {
    if (frame.thread !== app.thread) return;
    const bottom = atBottom();
    addMessage(frame, {});
    decorate();
    // Our own line, stored: it leaves the outbox.
    if (frame.client_id && frame.author === app.user) removeFromOutbox(frame.client_id);
    if (app.moderator && frame.kind === "system") scheduleModeratorRefresh();
    const fromOthers = frame.author && frame.author !== app.user;
    if (fromOthers) {
      delete app.typing[frame.author];
      renderTyping();
    }
    if (app.joined && fromOthers && !bottom) {
      app.newBelow += 1;
      $("jump").textContent = app.newBelow + (app.newBelow === 1 ? " new message" : " new messages") + " below ↓";
      placeJump();
      $("jump").hidden = false;
    }
    if (app.joined && fromOthers && document.hidden) notifyHidden(frame);
    maybeMarkRead();
    updateUnread();
  }

  function addMessage(message, { older } = {}) {
    if (typeof message.seq !== "number" || app.seen.has(message.seq)) return;   // never twice
    app.seen.add(message.seq);
    app.lastSeq = Math.max(app.lastSeq, message.seq);
    app.lowestSeq = app.lowestSeq === null ? message.seq : Math.min(app.lowestSeq, message.seq);
    const node = renderMessage(message);
    const list = $("messages");
    const scroller = $("scroller");
    const bottom = atBottom();
    // Keep sequence order, whatever order pages arrive in.
    let before = null;
    for (let child = list.lastElementChild; child; child = child.previousElementSibling) {
      if (Number(child.dataset.seq) > message.seq) before = child; else break;
    }
    list.insertBefore(node, before);
    if (!older && (bottom || message.author === app.user)) scroller.scrollTop = scroller.scrollHeight;
  }

  // Day separators between days (UTC), and "Seen" under the lines the other side has read up to.
  function decorate() {
    const list = $("messages");
    for (const node of list.querySelectorAll("li.day")) node.remove();
    let previous = null;
    for (const node of Array.from(list.children)) {
      if (!node.classList.contains("msg") || !node.dataset.at) continue;
      const day = node.dataset.at.slice(0, 10);
      if (day !== previous) {
        const separator = el("li", "day", dayLabel(node.dataset.at));
        separator.dataset.seq = String(Number(node.dataset.seq) - 0.5);
        list.insertBefore(separator, node);
      }
      previous = day;
    }
    renderSeen();
  }

  function renderSeen() {
    for (const node of $("messages").querySelectorAll(".seen")) node.remove();
    const messages = Array.from($("messages").querySelectorAll("li.msg"));
    for (const [user, marker] of Object.entries(app.reads)) {
      if (user === app.user) continue;
      // A party sees "Seen" under their own newest line the other read; a moderator sees who read how far.
      const target = messages.filter((node) => Number(node.dataset.seq) <= marker.seq && (app.moderator || node.classList.contains("mine"))).pop();
      if (!target) continue;
      const seen = el("span", "seen", app.moderator ? "Seen by " + user + " (" + marker.role + ")" : "Seen");
      seen.title = "Seen by " + user + ": " + fullTime(marker.at);
      seen.dataset.user = user;
      target.append(seen);
    }
  }

  // ---------- read markers, the "new messages" line, typing, notifications ----------
  let readTimer = null;
  function maybeMarkRead() {
    if (app.moderator || !app.joined || document.hidden || !atBottom() || readTimer) return;
    if (app.lastSeq <= app.myReadSent) return;
    readTimer = setTimeout(() => {
      readTimer = null;
      if (app.moderator || !app.joined || document.hidden || !atBottom() || app.lastSeq <= app.myReadSent) return;
      if (send({ type: "read", thread: app.thread, seq: app.lastSeq })) {
        app.myReadSent = app.lastSeq;
        updateUnread();
      }
    }, 300);
  }

  function onRead(frame) {
    if (frame.thread !== app.thread) return;
    const known = app.reads[frame.user];
    if (!known || frame.seq > known.seq) app.reads[frame.user] = { seq: frame.seq, at: frame.at, role: frame.role };
    if (frame.user === app.user) app.myReadSent = Math.max(app.myReadSent, frame.seq);
    renderSeen();
    updateUnread();
  }

  // Once a thread is joined: a line above the first message the user has not read, shown in view.
  function placeNewDivider() {
    if (app.dividerPlaced || app.moderator) return;
    app.dividerPlaced = true;
    const read = Math.max(app.myReadSent, (app.reads[app.user] || {}).seq || 0);
    const first = Array.from($("messages").querySelectorAll("li.msg")).find((node) =>
      Number(node.dataset.seq) > read && node.dataset.author && node.dataset.author !== app.user);
    if (!first || !read) { maybeMarkRead(); return; }
    const divider = el("li", "new-divider", "New messages");
    divider.dataset.seq = String(Number(first.dataset.seq) - 0.25);
    $("messages").insertBefore(divider, first);
    divider.scrollIntoView({ block: "start" });
    maybeMarkRead();
  }

  $("scroller").addEventListener("scroll", () => {
    if (atBottom()) { app.newBelow = 0; $("jump").hidden = true; maybeMarkRead(); }
  });
  // The "new messages" button floats just above the bottom of the message list, never over the command
  // buttons or the composer below it (how tall they are depends on the commands and the width).
  function placeJump() {
    const chatBox = document.querySelector("main.chat").getBoundingClientRect();
    const list = $("scroller").getBoundingClientRect();
    $("jump").style.bottom = Math.max(0, Math.round(chatBox.bottom - list.bottom)) + 8 + "px";
  }
  window.addEventListener("resize", () => { if (!$("jump").hidden) placeJump(); });
  $("jump").addEventListener("click", () => {
    const scroller = $("scroller");
    scroller.scrollTop = scroller.scrollHeight;
    app.newBelow = 0;
    $("jump").hidden = true;
    input.focus();
    maybeMarkRead();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { maybeMarkRead(); if (app.online) loadThreads(); }
  });

  function onTyping(frame) {
    if (frame.thread !== app.thread || frame.user === app.user) return;
    app.typing[frame.user] = Date.now();
    renderTyping();
    setTimeout(renderTyping, 5200);
  }
  function renderTyping() {
    const now = Date.now();
    const who = Object.keys(app.typing).filter((user) => now - app.typing[user] < 5000);
    $("typing").textContent = !who.length ? "" : who.join(" and ") + (who.length === 1 ? " is typing…" : " are typing…");
  }

  const NOTIFY_KEY = "milestone-bot.notify";
  app.notify = localStorage.getItem(NOTIFY_KEY) === "on" && "Notification" in window && Notification.permission === "granted";
  function renderNotifyButton() {
    $("notify").textContent = app.notify ? "Notifications on" : "Notify me";
    $("notify").setAttribute("aria-pressed", app.notify ? "true" : "false");
  }
  renderNotifyButton();
  $("notify").addEventListener("click", async () => {
    if (app.notify) { app.notify = false; localStorage.setItem(NOTIFY_KEY, "off"); renderNotifyButton(); return; }
    const permission = await Notification.requestPermission();
    app.notify = permission === "granted";
    localStorage.setItem(NOTIFY_KEY, app.notify ? "on" : "off");
    renderNotifyButton();
  });
  /// A line that arrives while the tab is hidden, if the user asked for notifications.
  function notifyHidden(message) {
    if (!app.notify || !("Notification" in window)) return;
    const title = ((app.threads.find((t) => t.thread === message.thread) || {}).title || message.thread);
    try {
      new Notification(message.author + " in " + title, { body: Array.from(message.text).slice(0, 140).join(""), tag: message.thread });
    } catch (_) {}
  }

  const ROLE_NAMES = { buyer: "buyer", freelancer: "freelancer", moderator: "moderator" };

  function renderMessage(m) {
    const classes = ["msg", "kind-" + m.kind];
    let label;
    if (m.author === null || m.author === undefined) {
      classes.push("system");
      // A moderator reads notices meant for someone else: say whom, not "you".
      label = m.kind !== "notice" ? "Bot" : m.visible_to && m.visible_to !== app.user ? "Bot (to " + m.visible_to + ")" : "Bot (to you)";
    } else if (m.author === app.user) {
      classes.push("mine");
      label = "You";
    } else if (m.role === "moderator" || m.kind === "note") {
      classes.push("note");
      label = m.author + " (moderator)";
    } else {
      classes.push("theirs");
      label = m.author + (m.role ? " (" + (ROLE_NAMES[m.role] || m.role) + ")" : "");
    }
    if (m.kind === "command") classes.push("command");
    if (m.role) classes.push("role-" + m.role);
    if (m.private) classes.push("private");
    const node = el("li", classes.join(" "));
    node.dataset.seq = String(m.seq);
    node.dataset.kind = m.kind;
    node.dataset.author = m.author || "";
    if (m.private) node.dataset.private = "true";
    if (m.event) node.dataset.event = m.event;
    if (m.at) node.dataset.at = m.at;
    const by = el("span", "by");
    if (m.private) {
      const forWhom = m.visible_to && m.visible_to !== app.user ? "Private to " + m.visible_to : "Only you and moderators can see this";
      by.append(el("span", "tag", forWhom));
    } else if (m.kind === "system") {
      by.append(el("span", "tag", m.milestone ? "Update · " + m.milestone : "Update"));
    }
    by.append(document.createTextNode(label));
    const time = el("time", null, when(m.at));
    if (m.at) { time.dateTime = m.at; time.title = fullTime(m.at); }
    by.append(time);
    node.append(by);
    node.append(renderText(m.text));
    if (Array.isArray(m.files) && m.files.length) node.append(renderFiles(m.files));
    return node;
  }

  // A message's text: set as text, never HTML; its own direction (Arabic, Hebrew); line breaks kept (CSS);
  // http and https addresses become links that open apart from this page.
  const LINK = /\bhttps?:\/\/[^\s<>"'`]+/gi;
  function renderText(text) {
    const span = el("span", "text");
    span.dir = "auto";
    let last = 0;
    for (const match of String(text).matchAll(LINK)) {
      const url = match[0].replace(/[.,;:!?)\]}]+$/, "");
      span.append(document.createTextNode(text.slice(last, match.index)));
      let href = null;
      try {
        const parsed = new URL(url);
        if (parsed.protocol === "http:" || parsed.protocol === "https:") href = parsed.href;
      } catch (_) {}
      if (href) {
        const link = el("a", null, url);
        link.href = href;
        link.rel = "noopener noreferrer";
        link.target = "_blank";
        span.append(link);
      } else {
        span.append(document.createTextNode(url));
      }
      last = match.index + url.length;
    }
    span.append(document.createTextNode(text.slice(last)));
    return span;
  }

  // ---------- files ----------
  const FILE_ID = /^[0-9a-f]{64}$/;

  function size(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function fileURL(id) {
    return "/api/contracts/" + encodeURIComponent(app.thread) + "/files/" + id;
  }

  async function loadFiles() {
    if (!app.thread) return;
    const thread = app.thread;
    try {
      const body = await api("/api/contracts/" + encodeURIComponent(thread) + "/files");
      if (thread !== app.thread) return;
      for (const file of body.files || []) app.files.set(file.id, file);
      for (const card of document.querySelectorAll(".file-card[data-pending]")) fillCard(card);
      renderCaseFiles();
    } catch (_) {}
  }

  // The bytes, fetched with the token in the header (never in a URL), as a blob.
  async function fetchFile(id) {
    const response = await fetch(fileURL(id), { headers: { Authorization: "Bearer " + app.token }, cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.blob();
  }

  async function download(id) {
    const info = app.files.get(id);
    try {
      const blob = await fetchFile(id);
      const url = URL.createObjectURL(blob);
      const link = el("a");
      link.href = url;
      link.download = (info && info.name) || id;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (error) {
      alert("Could not download the file: " + error.message);
    }
  }

  function renderFiles(ids) {
    const box = el("div", "files");
    for (const id of ids) {
      if (!FILE_ID.test(String(id))) continue;
      const card = el("div", "file-card");
      card.dataset.file = id;
      card.dataset.pending = "true";
      box.append(card);
      fillCard(card);
    }
    if (box.querySelector("[data-pending]")) loadFiles();
    return box;
  }

  const INLINE = ["image/png", "image/jpeg", "image/gif", "image/webp"];

  function fillCard(card) {
    const id = card.dataset.file;
    const info = app.files.get(id);
    card.replaceChildren();
    card.append(el("span", "file-name", info ? info.name : "file " + id.slice(0, 12)));
    card.append(el("span", "file-meta", info ? size(info.size) + " · " + info.content_type + " · sha256 " + id.slice(0, 12) + "…" : "sha256 " + id.slice(0, 12) + "…"));
    card.title = "SHA-256 " + id;
    const button = el("button", "small secondary", "Download");
    button.type = "button";
    button.dataset.download = id;
    button.addEventListener("click", () => download(id));
    card.append(button);
    if (!info) return;
    delete card.dataset.pending;
    // Raster images are previewed (from a blob: the server serves them only with the token).
    if (INLINE.includes(info.content_type)) {
      fetchFile(id).then((blob) => {
        const image = el("img");
        image.alt = info.name;
        image.src = URL.createObjectURL(blob);
        card.append(image);
      }).catch(() => {});
    }
  }

  function renderCaseFiles() {
    const list = $("case-files");
    if (!list) return;
    list.replaceChildren();
    const files = Array.from(app.files.values());
    if (!files.length) { list.append(el("li", "sub", "No files yet.")); return; }
    for (const file of files) {
      const item = el("li");
      item.dataset.file = file.id;
      item.append(el("strong", null, file.name));
      item.append(document.createTextNode(" · " + size(file.size) + " · " + file.content_type + " · by " + file.uploaded_by + " "));
      item.append(el("code", null, file.id));
      const button = el("button", "small secondary", "Download");
      button.type = "button";
      button.addEventListener("click", () => download(file.id));
      item.append(document.createTextNode(" "), button);
      list.append(item);
    }
  }

  // Attaching: the button, drag and drop, paste. Each file uploads at once (with progress and cancel);
  // the next line sent carries the ones that are ready.
  function attach(fileList) {
    if (!app.thread) return;
    for (const file of Array.from(fileList || [])) {
      const entry = { key: newId(), file, status: "uploading", id: null, progress: 0, xhr: null, error: null, thread: app.thread };
      app.attachments.push(entry);
      upload(entry);
    }
    renderAttachments();
  }

  function upload(entry) {
    const xhr = new XMLHttpRequest();
    entry.xhr = xhr;
    xhr.open("POST", "/api/contracts/" + encodeURIComponent(entry.thread) + "/files?name=" + encodeURIComponent(entry.file.name || "file"));
    xhr.setRequestHeader("Authorization", "Bearer " + app.token);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) { entry.progress = event.loaded / event.total; renderAttachments(); }
    };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) {}
      if (xhr.status === 201 && body && FILE_ID.test(body.id)) {
        entry.status = "ready";
        entry.id = body.id;
        app.files.set(body.id, body);
        renderCaseFiles();
      } else {
        entry.status = "failed";
        entry.error = (body && body.error && body.error.message) || ("HTTP " + xhr.status);
      }
      renderAttachments();
    };
    xhr.onerror = () => { entry.status = "failed"; entry.error = "the upload did not reach the server"; renderAttachments(); };
    xhr.send(entry.file);
  }

  function removeAttachment(entry) {
    if (entry.status === "uploading" && entry.xhr) entry.xhr.abort();
    app.attachments = app.attachments.filter((e) => e !== entry);
    renderAttachments();
  }

  function renderAttachments() {
    const list = $("attachments");
    list.replaceChildren();
    const mine = app.attachments.filter((e) => e.thread === app.thread);
    list.hidden = !mine.length;
    for (const entry of mine) {
      const item = el("li");
      item.dataset.status = entry.status;
      item.dataset.name = entry.file.name;
      item.append(el("span", "file-name", entry.file.name + " (" + size(entry.file.size) + ")"));
      if (entry.status === "uploading") {
        const bar = el("progress");
        bar.max = 1;
        bar.value = entry.progress;
        bar.setAttribute("aria-label", "Uploading " + entry.file.name);
        item.append(bar);
      } else if (entry.status === "failed") {
        item.append(el("span", null, "Not uploaded: " + entry.error));
      } else {
        item.append(el("span", null, "ready"));
      }
      const button = el("button", "small secondary", entry.status === "uploading" ? "Cancel" : "Remove");
      button.type = "button";
      button.addEventListener("click", () => removeAttachment(entry));
      item.append(button);
      list.append(item);
    }
  }

  $("attach").addEventListener("click", () => $("attach-input").click());
  $("attach-input").addEventListener("change", (event) => { attach(event.target.files); event.target.value = ""; });
  const chat = document.querySelector("main.chat");
  chat.addEventListener("dragover", (event) => { if (app.thread) { event.preventDefault(); chat.classList.add("dropping"); } });
  chat.addEventListener("dragleave", () => chat.classList.remove("dropping"));
  chat.addEventListener("drop", (event) => {
    chat.classList.remove("dropping");
    if (!app.thread || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    attach(event.dataTransfer.files);
  });

  $("older").addEventListener("click", () => {
    if (!app.thread || !app.joined || app.lowestSeq === null) return;
    app.loadingOlder = true;
    send({ type: "history", thread: app.thread, before: app.lowestSeq, limit: 100 });
  });

  function onJoined(frame) {
    if (frame.thread !== app.thread) return;
    app.joined = true;
    const info = app.threads.find((t) => t.thread === frame.thread);
    $("thread-meta").textContent = "you are the " + frame.role + (info ? " · " + info.preset : "");
    updateComposer();
    flushOutbox();
    // The read markers follow `joined` and `state`; once they are in, mark where the unread starts.
    setTimeout(placeNewDivider, 150);
  }

  // ---------- the outbox: lines not yet acknowledged ----------
  function newId() {
    const random = Math.floor(Math.random() * 0x7fffffff).toString(36);
    return "web-" + Date.now().toString(36) + "-" + random;
  }

  function queueLine(text, files) {
    const entry = { id: newId(), thread: app.thread, user: app.user, text, files: files || [], status: "queued", error: null };
    app.outbox.push(entry);
    trySend(entry);
    renderOutbox();
  }

  function trySend(entry) {
    if (entry.thread !== app.thread || !app.joined) return;
    const frame = { type: "send", thread: entry.thread, id: entry.id, text: entry.text };
    if (entry.files && entry.files.length) frame.files = entry.files;
    if (send(frame)) entry.status = "sent";
  }

  function flushOutbox() {
    for (const entry of app.outbox) if (entry.status !== "failed") trySend(entry);
    renderOutbox();
  }

  function removeFromOutbox(id) {
    const before = app.outbox.length;
    app.outbox = app.outbox.filter((entry) => entry.id !== id);
    if (app.outbox.length !== before) renderOutbox();
  }

  // The outbox survives a reload of the page (same tab): lines are never silently dropped.
  const OUTBOX_KEY = "milestone-bot.outbox";
  function saveOutbox() {
    try { sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(app.outbox.map(({ id, thread, user, text, files, status, error }) => ({ id, thread, user, text, files, status, error })))); }
    catch (_) {}
  }
  function restoreOutbox() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(OUTBOX_KEY) || "[]");
      app.outbox = saved.map((e) => Object.assign(e, { status: e.status === "failed" ? "failed" : "queued" }));
    } catch (_) { app.outbox = []; }
  }

  function renderOutbox() {
    saveOutbox();
    const list = $("outbox");
    list.replaceChildren();
    for (const entry of app.outbox) {
      if (entry.thread !== app.thread) continue;
      const failed = entry.status === "failed";
      const node = el("li", "msg mine" + (failed ? " failed" : ""));
      node.dataset.clientId = entry.id;
      node.dataset.status = entry.status;
      let status;
      if (failed) status = "Not sent: " + (entry.error || "refused");
      else if (entry.status === "sent" && app.online) status = "Sending…";
      else status = "Not sent yet — will send when reconnected";
      node.append(el("span", "status", status));
      node.append(renderText(entry.text));
      if (failed) {
        const dismiss = el("button", "small secondary", "Dismiss");
        dismiss.type = "button";
        dismiss.addEventListener("click", () => removeFromOutbox(entry.id));
        const edit = el("button", "small secondary", "Edit");
        edit.type = "button";
        edit.addEventListener("click", () => { removeFromOutbox(entry.id); $("composer-input").value = entry.text; $("composer-input").focus(); });
        const row = el("span", "row");
        row.append(edit, dismiss);
        node.append(row);
      }
      list.append(node);
    }
    const scroller = $("scroller");
    scroller.scrollTop = scroller.scrollHeight;
  }

  function onAck(frame) {
    removeFromOutbox(frame.id);
  }

  function onError(frame) {
    const entry = frame.id ? app.outbox.find((e) => e.id === frame.id) : null;
    if (entry) {
      if (frame.code === "rate_limited" || frame.code === "internal") {
        entry.status = "queued";
        setTimeout(() => { trySend(entry); renderOutbox(); }, 1200);
      } else {
        entry.status = "failed";
        entry.error = frame.message || frame.code;
      }
      renderOutbox();
      return;
    }
    if (frame.code === "unknown_thread" || frame.code === "not_member") {
      $("thread-meta").textContent = frame.message || frame.code;
    }
    if (frame.code === "bad_token") setConn("online", "Online (the fresh token was refused: " + (frame.message || "bad_token") + ")");
  }

  // ---------- state: milestones, commands ----------
  function onState(frame) {
    if (frame.thread !== app.thread) return;
    app.state = frame;
    renderState();
    renderActions();
    if (app.moderator) { renderResolve(); scheduleModeratorRefresh(); }
    const info = app.threads.find((t) => t.thread === frame.thread);
    if (info && info.phase !== frame.phase) { info.phase = frame.phase; renderThreads(); }
  }

  const REVIEW_OUTCOME = {
    auto_release: (m, s) => "If the buyer does not act by then, " + m.number + " (" + m.amount_text + ") is released to " + s.freelancer + " automatically.",
    auto_complete: (m) => "If the buyer does not act by then, " + m.number + " is accepted automatically and the order completes.",
  };

  function renderState() {
    const s = app.state;
    $("thread-title").textContent = s.title || s.thread;
    const summary = $("contract-summary");
    summary.replaceChildren();
    summary.append(document.createTextNode(
      "Phase: " + s.phase + " · buyer " + s.buyer + ", freelancer " + s.freelancer + " · held now: "));
    const held = el("strong", null, s.held_text || money(s.held, s.currency));
    // Also in the conversation's header, so on a phone the money held stays in sight while chatting.
    $("held-now").textContent = "Held: " + (s.held_text || money(s.held, s.currency)) + (s.test_money ? " (test)" : "");
    $("held-now").hidden = false;
    held.id = "contract-held";
    held.dataset.held = String(s.held);
    summary.append(held);
    if (s.test_money) summary.append(document.createTextNode(" (test money)"));
    if (s.end_request) {
      summary.append(el("br"));
      summary.append(document.createTextNode("End request: " + s.end_request));
    }
    const list = $("milestones");
    list.replaceChildren();
    for (const m of s.milestones || []) {
      const item = el("li");
      item.dataset.milestone = m.number;
      item.dataset.state = m.state;
      item.dataset.held = String(m.held);
      item.dataset.released = String(m.released);
      const head = el("div", "ms-head");
      const name = el("span");
      name.append(el("strong", null, m.number + " "));
      const badge = el("span", "state", m.state.replace(/_/g, " "));
      badge.dataset.state = m.state;
      name.append(badge);
      head.append(name, el("span", "amt", m.amount_text || money(m.amount, s.currency)));
      item.append(head);
      item.append(el("p", "ms-desc", m.description));
      const facts = el("dl", "ms-facts");
      const fact = (label, value, cls) => {
        facts.append(el("dt", null, label));
        const dd = el("dd", cls, value);
        facts.append(dd);
      };
      fact("Held", money(m.held, s.currency), "held");
      if (m.released) fact("Released", money(m.released, s.currency), "released");
      if (m.refunded) fact("Refunded", money(m.refunded, s.currency), "refunded");
      fact("Due", m.due || "no date");
      if (m.revision_allowance !== null && m.revision_allowance !== undefined) {
        fact("Revisions", m.revisions_used + " of " + m.revision_allowance);
      }
      item.append(facts);
      if (m.review_ends) {
        const outcome = REVIEW_OUTCOME[m.review_outcome];
        const text = "Review ends " + when(m.review_ends, true) + ". " +
          (outcome ? outcome(m, s) : "Nothing happens automatically then.");
        item.append(el("p", "ms-deadline", text));
      }
      list.append(item);
    }
    if (!(s.milestones || []).length) list.append(el("li", "sub", "No milestones yet."));
  }

  function templates() {
    return (app.state && app.state.commands) || [];
  }

  // Every command the state offers is a button in plain words. One that needs words or an amount opens a
  // small form; one that cannot be undone asks first; one that moves money shows what the server says it
  // will do (submitLine).
  const PLAIN = [
    [/^\/fund (M\d+)$/i, "Fund $1"], [/^\/release (M\d+)$/i, "Release $1"], [/^\/approve (M\d+)$/i, "Approve $1"],
    [/^\/submit (M\d+)/i, "Submit work on $1"], [/^\/revise (M\d+)/i, "Request changes on $1"],
    [/^\/dispute contract/i, "Dispute the whole contract"], [/^\/dispute (M\d+)/i, "Open a dispute on $1"],
    [/^\/evidence contract/i, "Add your side (contract)"], [/^\/evidence (M\d+)/i, "Add your side on $1"],
    [/^\/offer (M\d+) release/i, "Offer a settlement on $1"], [/^\/offer (M\d+) refund/i, "Offer a full refund on $1"],
    [/^\/offer accept contract/i, "Agree to cancel the contract"], [/^\/offer decline contract/i, "Refuse to cancel the contract"],
    [/^\/offer withdraw contract/i, "Withdraw your offer to cancel"], [/^\/offer cancel/i, "Offer to cancel the contract"],
    [/^\/offer accept (M\d+)/i, "Accept the offer on $1"], [/^\/offer decline (M\d+)/i, "Decline the offer on $1"],
    [/^\/offer withdraw (M\d+)/i, "Withdraw your offer on $1"],
    [/^\/milestone add/i, "Add a milestone"], [/^\/milestone request/i, "Request a milestone"],
    [/^\/milestone edit (M\d+)/i, "Change $1's amount"], [/^\/milestone delete (M\d+)/i, "Delete $1"],
    [/^\/cancel order/i, "Cancel the order"], [/^\/cancel (M\d+)/i, "Cancel $1 and refund it"],
    [/^\/take contract/i, "Take the contract case"], [/^\/take (M\d+)/i, "Take the case on $1"], [/^\/note/i, "Private note"],
    [/^\/resolve contract/i, "Rule on the contract"], [/^\/resolve (M\d+) release/i, "Rule: release $1"],
    [/^\/resolve (M\d+) refund/i, "Rule: refund $1"], [/^\/resolve (M\d+) split/i, "Rule: split $1"],
    [/^\/endcontract accept/i, "Agree to end the contract"], [/^\/endcontract decline/i, "Refuse to end the contract"],
    [/^\/endcontract/i, "End the contract"], [/^\/golive/i, "Make the contract live"], [/^\/placeorder/i, "Place the order"],
    [/^\/stop/i, "Stop the order"], [/^\/complete/i, "Mark the order complete"], [/^\/bonus/i, "Pay a bonus"],
  ];
  function plainWords(template) {
    for (const [pattern, words] of PLAIN) {
      const found = pattern.exec(template);
      if (found) return words.replace("$1", found[1] ? found[1].toUpperCase() : "");
    }
    return template;
  }
  /// Commands that cannot be taken back: asked about first, in words.
  const DESTRUCTIVE = /^\/(milestone delete|cancel|endcontract(?! (accept|decline))|stop)\b/i;

  let actionsShown = "";
  function renderActions() {
    const bar = $("actions");
    const shown = JSON.stringify([app.thread, templates().map((c) => [c.template, c.summary, c.moves_money])]);
    if (shown === actionsShown) return;
    actionsShown = shown;
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.template : null;
    bar.replaceChildren();
    for (const command of templates()) {
      const destructive = DESTRUCTIVE.test(command.template);
      const button = el("button", "small" + (destructive ? " danger" : command.moves_money ? " money" : " secondary"), plainWords(command.template));
      button.type = "button";
      button.title = command.template + (command.summary ? ": " + command.summary : "");
      button.dataset.template = command.template;
      button.addEventListener("click", () => runTemplate(command));
      bar.append(button);
      if (focused === command.template) button.focus();
    }
  }

  async function runTemplate(command) {
    if (command.template.includes("<")) { openForm(command); return; }
    if (DESTRUCTIVE.test(command.template) && !command.moves_money &&
        !window.confirm(plainWords(command.template) + "?\n\n" + (command.summary || command.template) + "\n\nThis cannot be undone.")) return;
    await submitLine(command.template, { destructive: DESTRUCTIVE.test(command.template) });
  }

  // The small form for a command that needs words or an amount: one labelled field per <placeholder>.
  let formCommand = null;
  function openForm(command) {
    formCommand = command;
    $("ask-title").textContent = plainWords(command.template);
    $("ask-summary").textContent = command.summary || "";
    $("ask-error").textContent = "";
    const fields = $("ask-fields");
    fields.replaceChildren();
    const names = command.template.match(/<[^>]+>/g) || [];
    names.forEach((placeholder, index) => {
      const name = placeholder.slice(1, -1);
      const id = "ask-field-" + index;
      const isAmount = name === "amount";
      const label = el("label", null, isAmount ? "Amount (" + ((app.state && app.state.currency) || "USD") + ")" : name.charAt(0).toUpperCase() + name.slice(1));
      label.htmlFor = id;
      const field = isAmount ? el("input") : el("textarea");
      field.id = id;
      field.dataset.placeholder = placeholder;
      if (isAmount) { field.inputMode = "decimal"; field.autocomplete = "off"; }
      fields.append(label, field);
    });
    const dialog = $("ask");
    dialog.showModal();
    const first = fields.querySelector("input, textarea");
    if (first) first.focus();
  }
  $("ask-cancel").addEventListener("click", () => $("ask").close());
  $("ask-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!formCommand) return;
    let line = formCommand.template;
    for (const field of $("ask-fields").querySelectorAll("input, textarea")) {
      // A command's words are one line: line breaks typed in the form become spaces.
      const value = field.value.replace(/\s+/g, " ").trim();
      if (!value) {
        $("ask-error").textContent = "Fill in " + field.labels[0].textContent.toLowerCase() + ".";
        field.focus();
        return;
      }
      line = line.replace(field.dataset.placeholder, () => value);   // a function: "$&" in the text stays as typed
    }
    const command = formCommand;
    $("ask").close();
    formCommand = null;
    await submitLine(line, { destructive: DESTRUCTIVE.test(command.template) });
  });

  const ALIASES = { "/pay": "/fund", "/deliver": "/submit", "/accept": "/release", "/return": "/cancel", "/end": "/endcontract", "/live": "/golive", "/order": "/placeorder", "/done": "/complete" };

  // The template a typed line runs, if it is one of the current ones that moves money.
  function moneyTemplateFor(text) {
    const words = text.trim().split(/\s+/);
    if (!words[0] || !words[0].startsWith("/")) return null;
    const verb = ALIASES[words[0].toLowerCase()] || words[0].toLowerCase();
    const typedMilestone = words[1] ? normalizeMilestone(words[1]) : null;
    let match = null;
    for (const command of templates()) {
      if (!command.moves_money) continue;
      const parts = command.template.split(/\s+/);
      if (parts[0].toLowerCase() !== verb) continue;
      if (parts.length > 1 && /^M\d+$/i.test(parts[1]) && typedMilestone && normalizeMilestone(parts[1]) !== typedMilestone) continue;
      if (parts.length > 1 && !/^M\d+$/i.test(parts[1]) && !parts[1].startsWith("<") && words[1] && parts[1].toLowerCase() !== words[1].toLowerCase()) continue;
      match = command;
      break;
    }
    return match;
  }

  function normalizeMilestone(word) {
    const found = /^m?(\d+)$/i.exec(word);
    return found ? "M" + Number(found[1]) : word.toUpperCase();
  }

  // Before a line that moves money is sent, the server says what exactly it would do for this text (the
  // amounts, and who gets them): the page does not guess. Offline, it says it could not ask.
  async function confirmMoney(text, destructive, thread) {
    if (!text.startsWith("/")) return true;
    let preview = null;
    try {
      preview = await api("/api/contracts/" + encodeURIComponent(thread) + "/preview", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text }) });
    } catch (_) {}
    const test = app.testMoney ? " (test money)" : "";
    if (preview) {
      if (!preview.moves_money) {
        // A question, a refusal or no money: the thread answers; what cannot be undone is still asked about.
        return !destructive || window.confirm(text + "\n\nThis cannot be undone. Send it?");
      }
      const effects = preview.effects.map((effect) => "• " + effect.text).join("\n");
      return window.confirm("This moves money" + test + ". The server says:\n\n" + effects + "\n\n" +
        (destructive ? "This cannot be undone. " : "") + "Send " + text + "?");
    }
    if (!moneyTemplateFor(text)) return true;
    return window.confirm("This moves money" + test + ":\n\n" + text + "\n\nThe server could not be asked what exactly it will do " +
      "(no connection); the line is sent when the connection is back. Go ahead?");
  }

  async function submitLine(text, { destructive } = {}) {
    text = text.trim();
    // The thread the line was written in: the confirmation below waits for the server and the user, and the
    // user may open another thread meanwhile. The line never goes to that other one.
    const thread = app.thread;
    const waiting = app.attachments.filter((e) => e.thread === app.thread);
    if (waiting.some((e) => e.status === "uploading")) {
      alert("A file is still uploading; send when it is ready (or remove it).");
      return false;
    }
    const ready = waiting.filter((e) => e.status === "ready");
    if (!text && ready.length) text = "Attached: " + ready.map((e) => e.file.name).join(", ");
    if (!text || !app.thread) return false;
    if (characters(text) > MAX_CHARACTERS) return false;
    if (!(await confirmMoney(text, destructive, thread))) return false;
    if (app.thread !== thread) {
      alert("Not sent: you opened another thread while it waited for your answer. Open " + thread + " and send it there.");
      return false;
    }
    queueLine(text, ready.map((e) => e.id));
    app.attachments = app.attachments.filter((e) => !waiting.includes(e));
    renderAttachments();
    return true;
  }

  // ---------- the composer and command completion ----------
  const input = $("composer-input");

  function updateComposer() {
    const ready = !!app.thread;
    input.disabled = !ready;
    $("send").disabled = !ready || characters(input.value) > MAX_CHARACTERS;
    $("attach").disabled = !ready;
    const narrow = window.innerWidth < 600;
    input.placeholder = !ready ? "Pick a thread"
      : app.online ? (narrow ? "Message, or / for commands" : "Write a message, or type / for commands")
      : (narrow ? "Offline: sent when back" : "Offline: lines you write are sent when the connection is back");
  }

  // The composer: several lines (Enter sends, Shift+Enter breaks the line), a counter near the limit, and
  // nothing cut off silently: over the limit, Send waits until the text is shortened.
  const MAX_CHARACTERS = 4000;
  function updateCounter() {
    const count = characters(input.value);
    const counter = $("counter");
    counter.dataset.over = count > MAX_CHARACTERS ? "true" : "false";
    counter.textContent = count > MAX_CHARACTERS ? (count - MAX_CHARACTERS) + " characters over the limit of " + MAX_CHARACTERS + ": shorten it to send"
      : count > MAX_CHARACTERS - 500 ? (MAX_CHARACTERS - count) + " characters left" : "";
    $("send").disabled = !app.thread || count > MAX_CHARACTERS;
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 160) + "px";
  }
  let composing = false;   // a line is being confirmed: Enter again does not send it twice
  async function sendComposer() {
    if (app.completion.open && app.completion.index >= 0) { acceptCompletion(); return; }
    if (composing) return;
    composing = true;
    const text = input.value;
    try {
      if (await submitLine(text)) {
        if (input.value === text) input.value = "";
        closeCompletion();
        updateCounter();
      }
    } finally {
      composing = false;
    }
  }
  $("composer").addEventListener("submit", (event) => { event.preventDefault(); sendComposer(); });
  window.addEventListener("resize", updateComposer);

  input.addEventListener("input", () => {
    refreshCompletion();
    updateCounter();
    // "Typing", at most every 2 s (the server passes on no more).
    const now = Date.now();
    // Commands are not "typing" (a moderator's private /note must not show up as typing to the parties).
    if (input.value.trim() && !input.value.startsWith("/") && app.joined && now - app.lastTypingSent > 2000) {
      app.lastTypingSent = now;
      send({ type: "typing", thread: app.thread });
    }
  });
  input.addEventListener("paste", (event) => {
    const files = event.clipboardData && event.clipboardData.files;
    if (files && files.length) { event.preventDefault(); attach(files); }
  });
  input.addEventListener("blur", () => setTimeout(closeCompletion, 150));
  input.addEventListener("keydown", (event) => {
    const c = app.completion;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !(c.open && c.index >= 0)) {
      event.preventDefault();
      sendComposer();
      return;
    }
    if (!c.open) {
      if (event.key === "ArrowDown" && input.value.startsWith("/") && !input.value.includes("\n")) { refreshCompletion(); event.preventDefault(); }
      return;
    }
    if (event.key === "ArrowDown") { moveCompletion(1); event.preventDefault(); }
    else if (event.key === "ArrowUp") { moveCompletion(-1); event.preventDefault(); }
    else if (event.key === "Escape") { closeCompletion(); event.preventDefault(); }
    else if (event.key === "Tab" && c.items.length) { if (c.index < 0) c.index = 0; acceptCompletion(); event.preventDefault(); }
    else if (event.key === "Enter" && c.index >= 0) { acceptCompletion(); event.preventDefault(); }
  });

  function refreshCompletion() {
    const typed = input.value;
    if (!typed.startsWith("/")) { closeCompletion(); return; }
    const lower = typed.toLowerCase();
    const items = templates().filter((command) => {
      const fixed = command.template.split("<")[0].toLowerCase();   // the part before the first placeholder
      return fixed.startsWith(lower) || lower.startsWith(fixed.trimEnd() + " ") || lower === fixed.trimEnd();
    });
    // Once the line is typed out in full, there is nothing left to offer.
    if (!items.length || (items.length === 1 && items[0].template.toLowerCase() === lower)) { closeCompletion(); return; }
    const c = app.completion;
    c.items = items;
    c.index = Math.min(c.index, items.length - 1);
    c.open = true;
    const list = $("completions");
    list.replaceChildren();
    items.forEach((command, index) => {
      const option = el("li");
      option.id = "completion-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", index === c.index ? "true" : "false");
      option.dataset.template = command.template;
      option.append(el("code", null, command.template));
      if (command.moves_money) option.append(el("span", "money-flag", "moves money"));
      if (command.summary) option.append(el("span", "sum", command.summary));
      option.addEventListener("mousedown", (event) => { event.preventDefault(); c.index = index; acceptCompletion(); });
      list.append(option);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    if (c.index >= 0) input.setAttribute("aria-activedescendant", "completion-" + c.index);
    else input.removeAttribute("aria-activedescendant");
  }

  function moveCompletion(step) {
    const c = app.completion;
    c.index = (c.index + step + c.items.length) % c.items.length;
    for (const [index, option] of Array.from($("completions").children).entries()) {
      option.setAttribute("aria-selected", index === c.index ? "true" : "false");
      if (index === c.index) option.scrollIntoView({ block: "nearest" });
    }
    input.setAttribute("aria-activedescendant", "completion-" + c.index);
  }

  function acceptCompletion() {
    const c = app.completion;
    const command = c.items[c.index];
    closeCompletion();
    if (!command) return;
    fillTemplate(command.template);
  }

  // Puts a template in the box; the first <placeholder> is selected, ready to be typed over.
  function fillTemplate(template) {
    input.value = template;
    input.focus();
    const start = template.indexOf("<");
    if (start >= 0) {
      const end = template.indexOf(">", start);
      input.setSelectionRange(start, end >= 0 ? end + 1 : template.length);
    } else {
      input.setSelectionRange(template.length, template.length);
    }
  }

  function closeCompletion() {
    const c = app.completion;
    c.open = false;
    c.items = [];
    c.index = -1;
    $("completions").hidden = true;
    $("completions").replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  // ---------- moderators ----------
  async function loadDisputes() {
    const list = $("disputes");
    let disputes;
    try { disputes = (await api("/api/disputes")).disputes || []; }
    catch (error) { list.replaceChildren(el("li", "sub", "Could not load the queue: " + error.message)); return; }
    list.replaceChildren();
    if (!disputes.length) { list.append(el("li", "sub", "No open disputes.")); return; }
    for (const d of disputes) {
      const item = el("li");
      item.dataset.thread = d.thread;
      item.dataset.milestone = d.milestone || "contract";
      item.append(el("strong", null, d.milestone ? d.milestone + " · " + (d.held_text || money(d.held, d.currency)) : "The contract as a whole"));
      item.append(el("span", "sub", (d.title || d.thread) + " — raised by " + (d.raised_by_user || d.raised_by) +
        " (" + d.raised_by + "), open " + age(d.open_seconds || 0)));
      if (d.reason) item.append(el("span", "sub", "“" + d.reason + "”"));
      const open = el("button", "small", "Open thread");
      open.type = "button";
      open.addEventListener("click", () => { openThread(d.thread); input.focus(); });
      item.append(open);
      list.append(item);
    }
  }
  $("disputes-refresh").addEventListener("click", loadDisputes);

  let moderatorTimer = null;
  function scheduleModeratorRefresh() {
    clearTimeout(moderatorTimer);
    moderatorTimer = setTimeout(() => { verifyChain(); loadDisputes(); }, 400);
  }

  async function verifyChain() {
    if (!app.thread || !app.moderator) return;
    const thread = app.thread;
    const node = $("chain");
    try {
      const result = await api("/api/contracts/" + encodeURIComponent(thread) + "/verify");
      if (thread !== app.thread) return;
      if (result.problem === null || result.problem === undefined) {
        node.dataset.intact = "true";
        node.textContent = "✓ Chain verified: " + result.messages + " messages intact, head " + String(result.head_hash || result.headHash || "?").slice(0, 16) + "…";
      } else {
        node.dataset.intact = "false";
        node.textContent = "✗ Chain broken: " + result.problem + " at message " + result.seq + (result.detail ? " — " + result.detail : "");
      }
    } catch (error) {
      node.dataset.intact = "unknown";
      node.textContent = "Chain: could not check (" + error.message + ")";
    }
  }
  $("chain-check").addEventListener("click", verifyChain);

  $("transcript-open").addEventListener("click", async () => {
    if (!app.thread) return;
    // Opened without an opener (and so without a copy of this tab's sessionStorage, where the token is):
    // the transcript is other people's text, and nothing in it may reach this page. It also carries its
    // own Content-Security-Policy (no script at all).
    try {
      const html = await api("/api/contracts/" + encodeURIComponent(app.thread) + "/transcript?format=html");
      const url = URL.createObjectURL(new Blob([html], { type: "text/html" }));
      window.open(url, "_blank", "noopener,noreferrer");
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (error) {
      alert("Could not load the transcript: " + error.message);
    }
  });

  function renderResolve() {
    const box = $("resolve");
    box.replaceChildren();
    const disputed = ((app.state && app.state.milestones) || []).filter((m) => m.state === "disputed");
    if (!disputed.length) return;
    box.append(el("h3", "sr-only", "Resolve a dispute"));
    for (const m of disputed) {
      const row = el("div", "row");
      row.append(el("strong", null, "Resolve " + m.number + " (" + money(m.held, app.state.currency) + "):"));
      for (const ruling of ["release", "refund", "split"]) {
        const button = el("button", "small secondary", ruling);
        button.type = "button";
        button.dataset.resolve = m.number + " " + ruling;
        button.addEventListener("click", () =>
          fillTemplate("/resolve " + m.number + " " + ruling + (ruling === "split" ? " <amount>" : "") + " <note>"));
        row.append(button);
      }
      box.append(row);
    }
  }

  // ---------- go ----------
  updateComposer();
  restoreOutbox();
  const token = readToken();
  if (token) start(token); else showSignin("");
})();
