// The browser client of wslab's chat: plain JavaScript, no build step, no libraries.
//
// Rules it keeps:
// - Every text from the network is rendered with textContent: a message that looks like HTML
//   shows as the characters it is, and never runs.
// - The page remembers, per browser tab (sessionStorage), its nick, its room, the id of the
//   last message it saw and the log it shows. On an unexpected close it reconnects with backoff
//   and joins with that id, so the server sends exactly what was missed; a reload does the same.
// - The server never echoes our own messages: we show them at once, marked pending until the
//   server's ack gives them their id.
"use strict";

(() => {
  const STORE_KEY = "wslab-chat";
  const LOG_LIMIT = 300; // entries kept in the page and in sessionStorage
  const TYPING_IDLE_MS = 3000; // typing stops this long after the last key
  const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];
  const NICK_RETRIES = 6; // a reconnect may find our nick still held by the dead connection
  const NAME = /^[A-Za-z0-9_-]{1,20}$/;

  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status"), me: $("me"), error: $("error"),
    joinForm: $("join-form"), nick: $("nick"), joinRoom: $("join-room"),
    chat: $("chat"), roomForm: $("room-form"), room: $("room"), currentRoom: $("current-room"),
    leave: $("leave"), log: $("log"), online: $("online"), onlineCount: $("online-count"),
    typing: $("typing"), sendForm: $("send-form"), text: $("text"), send: $("send"),
    whisperTo: $("whisper-to"), whisperLabel: $("whisper-label"),
    whisperCancel: $("whisper-cancel"),
  };

  // --- state -------------------------------------------------------------------------------

  const saved = load();
  const state = {
    nick: saved.nick || null,
    room: saved.room || "lobby",
    lastId: Number.isInteger(saved.lastId) ? saved.lastId : null,
    entries: Array.isArray(saved.entries) ? saved.entries : [],
    joined: false, // welcomed on the current connection
    wasJoined: Boolean(saved.nick), // welcomed before: a close is a reconnect, not a refusal
    ws: null,
    attempt: 0,
    nickRetries: 0,
    retryTimer: null,
    nextRef: 1,
    pending: new Map(), // ref -> list item of a message waiting for its ack
    typers: new Set(),
    typingSent: false,
    typingTimer: null,
    whisperTarget: null,
    online: [],
  };

  function load() {
    try {
      return JSON.parse(sessionStorage.getItem(STORE_KEY)) || {};
    } catch {
      return {};
    }
  }

  function save() {
    const data = {
      nick: state.nick, room: state.room, lastId: state.lastId,
      entries: state.entries.slice(-LOG_LIMIT),
    };
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify(data));
    } catch {
      // Storage full or disabled: the chat works, only a reload forgets more.
    }
  }

  function forget() {
    sessionStorage.removeItem(STORE_KEY);
    state.nick = null;
    state.lastId = null;
    state.entries = [];
    state.wasJoined = false;
  }

  // --- connection --------------------------------------------------------------------------

  function connect() {
    clearTimeout(state.retryTimer);
    // Relative to the page, so that it also works under a proxy's path (hosted JupyterLab).
    const url = new URL("ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    state.ws = ws;
    setStatus("connecting", "connecting…");
    ws.onopen = () => {
      // After a reload or a reconnect, lastId asks for exactly what we missed.
      sendJson({ type: "join", nick: state.nick, room: state.room, last_id: state.lastId });
    };
    ws.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return showError("the server sent something that is not JSON");
      }
      handle(message);
    };
    ws.onclose = (event) => {
      if (state.ws !== ws) return; // an old socket we already replaced
      state.ws = null;
      state.joined = false;
      failPending();
      stopTyping(false);
      setTypers([]);
      if (ws.intentional) return setStatus("offline", "offline");
      if (event.code === 1008 && !(state.wasJoined && state.nickRetries < NICK_RETRIES)) {
        // Refused (nick taken or bad): ask for another nick, don't hammer the server.
        showJoinForm();
        return setStatus("offline", "offline");
      }
      if (event.code === 1008) state.nickRetries += 1;
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    const base = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)];
    const delay = base + Math.floor(Math.random() * base * 0.3); // jitter: not all at once
    state.attempt += 1;
    setStatus("reconnecting", `reconnecting in ${(delay / 1000).toFixed(1)} s…`);
    state.retryTimer = setTimeout(connect, delay);
  }

  function disconnect() {
    clearTimeout(state.retryTimer);
    if (state.ws) {
      state.ws.intentional = true;
      state.ws.close(1000, "bye");
    }
  }

  function sendJson(message) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(message));
    return true;
  }

  // --- what the server sends ---------------------------------------------------------------

  function handle(m) {
    switch (m.type) {
      case "welcome": return onWelcome(m);
      case "message":
        seen(m.id);
        typerDone(m.from);
        return addEntry({ kind: "message", id: m.id, from: m.from, text: m.text });
      case "private":
        seen(m.id);
        return addEntry({ kind: "private", id: m.id, from: m.from, to: m.to, text: m.text });
      case "ack": return onAck(m);
      // The welcome lists who is here; after it, joined and left keep our own list.
      case "joined":
        if (!state.online.includes(m.nick)) setOnline([...state.online, m.nick].sort());
        return addEntry({ kind: "notice", text: `${m.nick} joined` });
      case "left":
        typerDone(m.nick);
        setOnline(state.online.filter((nick) => nick !== m.nick));
        return addEntry({ kind: "notice", text: `${m.nick} left` });
      case "presence": return setOnline(m.online);
      case "typing":
        if (m.typing) state.typers.add(m.nick); else state.typers.delete(m.nick);
        return renderTypers();
      case "error": return onError(m);
      default: return undefined; // a newer server may say more: ignore what we don't know
    }
  }

  function onWelcome(m) {
    const rejoin = state.wasJoined && m.room === state.room; // a reconnect or a reload
    state.joined = true;
    state.wasJoined = true;
    state.attempt = 0;
    state.nickRetries = 0;
    state.nick = m.nick;
    state.room = m.room;
    hideError();
    showChat();
    setStatus("online", "online");
    if (!rejoin) {
      setTypers([]);
      addEntry({ kind: "notice", text: `You joined #${m.room} as ${m.nick}` });
    }
    if (m.truncated) {
      addEntry({ kind: "notice", text: "Some messages were missed: the server no longer has them." });
    }
    for (const h of m.history) {
      addEntry({ kind: "message", id: h.id, from: h.from, text: h.text, mine: h.from === m.nick });
    }
    if (m.history.length) seen(m.history[m.history.length - 1].id);
    setOnline(m.online);
    save();
  }

  function onAck(m) {
    seen(m.id);
    const item = state.pending.get(m.ref);
    if (!item) return;
    state.pending.delete(m.ref);
    item.classList.remove("pending");
    item.dataset.id = String(m.id);
    const entry = item.entry;
    entry.id = m.id;
    delete entry.pending;
    state.entries.push(entry);
    save();
  }

  function onError(m) {
    showError(`${m.reason} (${m.code})`);
    if (m.code === "too_long" || m.code === "no_such_user") {
      // The server answers in order, so this refuses our oldest message still waiting.
      const [ref, item] = state.pending.entries().next().value || [];
      if (item) {
        state.pending.delete(ref);
        item.classList.replace("pending", "failed");
        item.title = `not delivered: ${m.reason}`;
      }
    }
    if ((m.code === "nick_taken" || m.code === "bad_nick") && !state.wasJoined) {
      forget();
    }
  }

  // Ids grow along one connection, so the latest id is the one to resume from. Assigned, not
  // maxed: a restarted server counts from 1 again.
  function seen(id) {
    state.lastId = id;
    save();
  }

  // --- the log -----------------------------------------------------------------------------

  function addEntry(entry, { store = true } = {}) {
    const item = renderEntry(entry);
    const atBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
    ui.log.append(item);
    while (ui.log.children.length > LOG_LIMIT) ui.log.firstElementChild.remove();
    if (atBottom || entry.mine) ui.log.scrollTop = ui.log.scrollHeight;
    if (store) {
      state.entries.push(entry);
      if (state.entries.length > LOG_LIMIT) state.entries.splice(0, state.entries.length - LOG_LIMIT);
      save();
    }
    return item;
  }

  function renderEntry(entry) {
    const item = document.createElement("li");
    item.entry = entry;
    item.className = `entry ${entry.kind}`;
    if (entry.id != null) item.dataset.id = String(entry.id);
    if (entry.kind === "notice") {
      item.dataset.testid = "notice";
      item.textContent = entry.text;
      return item;
    }
    item.dataset.testid = entry.kind; // "message" or "private"
    if (entry.mine) item.classList.add("mine");
    if (entry.pending) item.classList.add("pending");
    if (entry.kind === "private") {
      const tag = span("tag", entry.mine ? `private to ${entry.to}` : "private");
      item.append(tag);
    }
    item.append(span("from", entry.mine ? "you" : entry.from));
    item.append(span("text", entry.text)); // textContent: never markup
    return item;
  }

  function span(className, text) {
    const element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }

  function failPending() {
    for (const item of state.pending.values()) {
      item.classList.remove("pending");
      item.classList.add("failed");
      item.title = "not delivered: the connection closed first";
    }
    state.pending.clear();
  }

  // --- people ------------------------------------------------------------------------------

  function setOnline(nicks) {
    state.online = nicks;
    ui.onlineCount.textContent = `(${nicks.length})`;
    ui.online.replaceChildren(...nicks.map((nick) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "person";
      button.dataset.testid = "online-user";
      button.dataset.nick = nick;
      button.textContent = nick === state.nick ? `${nick} (you)` : nick;
      if (nick === state.nick) button.disabled = true;
      else button.addEventListener("click", () => setWhisperTarget(nick));
      item.append(button);
      return item;
    }));
    setTypers([...state.typers].filter((nick) => nicks.includes(nick)));
  }

  function typerDone(nick) {
    if (state.typers.delete(nick)) renderTypers();
  }

  function setTypers(nicks) {
    state.typers = new Set(nicks);
    renderTypers();
  }

  function renderTypers() {
    const nicks = [...state.typers].sort();
    let line = "";
    if (nicks.length === 1) line = `${nicks[0]} is typing…`;
    else if (nicks.length === 2) line = `${nicks[0]} and ${nicks[1]} are typing…`;
    else if (nicks.length > 2) line = `${nicks.length} people are typing…`;
    ui.typing.textContent = line;
  }

  function setWhisperTarget(nick) {
    state.whisperTarget = nick;
    ui.whisperTo.hidden = nick === null;
    ui.whisperLabel.textContent = nick === null ? "" : `whisper to ${nick}`;
    ui.text.placeholder = nick === null ? "Say something…" : `Whisper to ${nick}…`;
    ui.text.focus();
  }

  // --- typing ------------------------------------------------------------------------------

  function onInput() {
    clearTimeout(state.typingTimer);
    if (!ui.text.value) return stopTyping(true);
    if (!state.typingSent && state.whisperTarget === null) {
      state.typingSent = sendJson({ type: "typing", typing: true });
    }
    state.typingTimer = setTimeout(() => stopTyping(true), TYPING_IDLE_MS);
  }

  function stopTyping(tell) {
    clearTimeout(state.typingTimer);
    if (state.typingSent && tell) sendJson({ type: "typing", typing: false });
    state.typingSent = false;
  }

  // --- user actions ------------------------------------------------------------------------

  function onJoin(event) {
    event.preventDefault();
    const nick = ui.nick.value.trim();
    const room = ui.joinRoom.value.trim() || "lobby";
    if (!NAME.test(nick)) return showError("A nick is 1-20 letters, digits, _ or -.");
    if (!NAME.test(room)) return showError("A room name is 1-20 letters, digits, _ or -.");
    hideError();
    forget();
    state.nick = nick;
    state.room = room;
    state.attempt = 0;
    ui.log.replaceChildren();
    save();
    disconnect();
    connect();
  }

  function onSwitchRoom(event) {
    event.preventDefault();
    const room = ui.room.value.trim();
    if (!NAME.test(room)) return showError("A room name is 1-20 letters, digits, _ or -.");
    if (room === state.room) return undefined;
    hideError();
    stopTyping(true);
    // A fresh join: the new room's recent history, not "what I missed since id N".
    // state.room changes when the welcome arrives (the server may refuse the move).
    if (!sendJson({ type: "join", nick: state.nick, room, last_id: null })) {
      showError("Not connected right now.");
    }
    return undefined;
  }

  function onSend(event) {
    event.preventDefault();
    const text = ui.text.value;
    if (!text) return;
    const ref = `c${state.nextRef++}`;
    const to = state.whisperTarget;
    const message = to === null
      ? { type: "say", text, ref }
      : { type: "whisper", to, text, ref };
    stopTyping(false); // the server ends our typing when it gets the message
    if (!sendJson(message)) return showError("Not connected right now; try again in a moment.");
    const entry = to === null
      ? { kind: "message", from: state.nick, text, mine: true, pending: true }
      : { kind: "private", from: state.nick, to, text, mine: true, pending: true };
    state.pending.set(ref, addEntry(entry, { store: false }));
    ui.text.value = "";
  }

  function onLeave() {
    disconnect();
    forget();
    ui.log.replaceChildren();
    setOnline([]);
    showJoinForm();
    setStatus("offline", "offline");
  }

  // --- views -------------------------------------------------------------------------------

  function setStatus(kind, text) {
    ui.status.className = `status ${kind}`;
    ui.status.textContent = text;
    ui.send.disabled = kind !== "online";
  }

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = false;
  }

  function hideError() {
    ui.error.hidden = true;
    ui.error.textContent = "";
  }

  function showJoinForm() {
    ui.chat.hidden = true;
    ui.joinForm.hidden = false;
    ui.me.textContent = "";
    if (state.nick) ui.nick.value = state.nick;
    ui.nick.focus();
  }

  function showChat() {
    ui.joinForm.hidden = true;
    ui.chat.hidden = false;
    ui.me.textContent = state.nick;
    ui.currentRoom.textContent = `#${state.room}`;
    ui.room.value = state.room;
    document.title = `#${state.room} · wslab chat`;
  }

  // --- start -------------------------------------------------------------------------------

  ui.joinForm.addEventListener("submit", onJoin);
  ui.roomForm.addEventListener("submit", onSwitchRoom);
  ui.sendForm.addEventListener("submit", onSend);
  ui.text.addEventListener("input", onInput);
  ui.text.addEventListener("keydown", (event) => {
    if (event.key === "Escape") setWhisperTarget(null);
  });
  ui.whisperCancel.addEventListener("click", () => setWhisperTarget(null));
  ui.leave.addEventListener("click", onLeave);
  window.addEventListener("pagehide", disconnect);
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && state.nick && !state.ws) connect(); // back from the bfcache
  });

  if (state.nick) {
    // A reload: show what we had, then rejoin and get what was missed.
    for (const entry of state.entries) addEntry(entry, { store: false });
    showChat();
    connect();
  } else {
    showJoinForm();
    setStatus("offline", "offline");
  }
})();
