// The page's side of wslab.browser_socket(): a real WebSocket, its live log, and the report
// channel to the kernel (protocol: wslab/browser_socket/model.py). Plain ES module, no build.

const STATES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];

// A server address as the page must open it: a path (through the Jupyter server) becomes
// ws(s)://this-page's-host/path.
function socketUrl(address) {
  const url = new URL(address, window.location.href);
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  return url.href;
}

function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// A short description: a log row must stay one line, whatever the size of the message.
function preview(data) {
  if (typeof data === "string") {
    if (data.length <= 60) return JSON.stringify(data);
    return `${JSON.stringify(data.slice(0, 40))}… (${data.length} characters)`;
  }
  const bytes = new Uint8Array(data);
  const hex = Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, "0"));
  return `${bytes.length} bytes: ${hex.join(" ")}${bytes.length > 16 ? " …" : ""}`;
}

// --- Code from Python: a handler the learner wrote ----------------------------------------

const AsyncFunction = (async () => {}).constructor;

// The line of the learner's code an error was thrown at, when the stack says: Chromium names
// code made by the Function constructor "<anonymous>", with two lines of header before the body.
function lineOf(error) {
  const found = /<anonymous>:(\d+):\d+/.exec(String(error && error.stack));
  return found ? Number(found[1]) - 2 : null;
}

function described(error) {
  const isError = error instanceof Error;
  return {
    name: isError ? error.name : typeof error,
    message: isError ? error.message : String(error),
    line: lineOf(error),
  };
}

// --- The backpressure comparison (wslab/browser_socket/backpressure.py) ---------------------

function opened(socket) {
  return new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onclose = (event) => reject(new Error(`could not open ${socket.url} (code ${event.code})`));
  });
}

function newRun() {
  return { handedOver: [], ahead: [], read: [], peakHeld: 0 };
}

// The reader's answer to one more message: the count it has read, as text.
function confirmed(data, read) {
  if (data === String(read + 1)) return read + 1;
  const got = typeof data === "string" ? JSON.stringify(data.slice(0, 40)) : "a binary message";
  throw new Error(`the server must answer each message it reads with how many it has read so far `
    + `("${read + 1}" next), but it sent ${got}`);
}

// `work` within `seconds`, then `close()` whatever happened: a reader that never answers, or
// one that answers wrongly, ends the run with an error instead of leaving the page waiting.
async function timed(seconds, close, work) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${seconds} s: is the server reading?`)),
      seconds * 1000);
  });
  work.catch(() => {}); // once expired or closed, its own failure is no news
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    close();
  }
}

// WebSocket: send() never waits, so the loop runs to its end and the browser keeps the rest.
function floodWebSocket(url, count, size, seconds) {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const work = (async () => {
    await opened(socket);
    const run = newRun();
    const chunk = new Uint8Array(size);
    let read = 0;
    let started = 0;
    const allRead = new Promise((resolve, reject) => {
      socket.onmessage = (event) => {
        try {
          read = confirmed(event.data, read);
        } catch (error) {
          reject(error);
        }
        run.read.push((performance.now() - started) / 1000);
        if (read >= count) resolve();
      };
      socket.onclose = (event) => reject(new Error(`the server closed the connection (code ${event.code})`));
    });
    started = performance.now();
    for (let i = 1; i <= count; i++) {
      socket.send(chunk);
      run.handedOver.push((performance.now() - started) / 1000);
      run.ahead.push(i - read);
      run.peakHeld = Math.max(run.peakHeld, socket.bufferedAmount);
    }
    await allRead;
    return run;
  })();
  return timed(seconds, () => { socket.onclose = null; socket.close(1000); }, work);
}

// WebSocketStream: await writer.ready before each write, the streams way to respect backpressure.
function floodStream(url, count, size, seconds) {
  const socket = new WebSocketStream(url);
  const work = (async () => {
    const { readable, writable } = await socket.opened;
    const writer = writable.getWriter();
    const reader = readable.getReader();
    const run = newRun();
    const chunk = new Uint8Array(size);
    let read = 0;
    let held = 0;
    let started = performance.now();
    const allRead = (async () => {
      while (read < count) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the server closed the connection");
        read = confirmed(value, read);
        run.read.push((performance.now() - started) / 1000);
      }
    })();
    const allSent = (async () => {
      const writes = [];
      started = performance.now();
      for (let i = 1; i <= count; i++) {
        await writer.ready;
        held += size;
        run.peakHeld = Math.max(run.peakHeld, held);
        writes.push(writer.write(chunk).then(() => { held -= size; }));
        run.handedOver.push((performance.now() - started) / 1000);
        run.ahead.push(i - read);
      }
      await Promise.all(writes);
    })();
    await Promise.all([allRead, allSent]); // the first failure, at once
    return run;
  })();
  return timed(seconds, () => socket.close({ closeCode: 1000 }), work);
}

// One socket and its report channel, per widget model (views only show it).
class Session {
  constructor(model) {
    this.model = model;
    this.log = []; // rows for the views: [seconds, what, detail]
    this.listeners = new Set();
    this.note = "";
    this.chain = Promise.resolve(); // reports leave in the order things happened
    this.pending = [];
    this.started = performance.now();
    this.report = new WebSocket(socketUrl(model.get("report_url")));
    this.report.onopen = () => {
      this.report.send(JSON.stringify({
        type: "hello",
        token: model.get("token"),
        origin: window.location.origin,
        userAgent: navigator.userAgent,
        webSocketStream: typeof WebSocketStream === "function",
      }));
      for (const text of this.pending.splice(0)) this.report.send(text);
    };
    this.report.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "welcome") this.open();
      else this.later(() => this.command(message));
    };
    this.report.onclose = (event) => {
      this.setNote(event.code === 4409 ? "another page runs this socket"
        : `not connected to the kernel (${event.code}${event.reason ? " " + event.reason : ""})`);
    };
    this.socket = null; // opened once the kernel welcomes this page
    this.handlers = new Map(); // event kind -> listener running code from Python
  }

  open() {
    const protocols = this.model.get("protocols");
    this.started = performance.now();
    this.socket = new WebSocket(socketUrl(this.model.get("url")), protocols.length ? protocols : undefined);
    for (const kind of ["open", "message", "error", "close"]) {
      this.socket.addEventListener(kind, (event) => this.later(() => this.event(kind, event)));
    }
    this.changed();
  }

  seconds() {
    return (performance.now() - this.started) / 1000;
  }

  state() {
    const s = this.socket;
    return {
      readyState: s.readyState, bufferedAmount: s.bufferedAmount, binaryType: s.binaryType,
      protocol: s.protocol, extensions: s.extensions,
    };
  }

  later(step) {
    this.chain = this.chain.then(step).catch((error) => this.setNote(`error: ${error}`));
  }

  send(report) {
    const text = JSON.stringify(report);
    if (this.report.readyState === WebSocket.OPEN) this.report.send(text);
    else if (this.report.readyState === WebSocket.CONNECTING) this.pending.push(text);
  }

  async event(kind, event) {
    const report = { type: "event", event: kind, at: this.seconds() };
    let detail = "";
    if (kind === "message") {
      if (typeof event.data === "string") {
        Object.assign(report, { dataType: "string", text: event.data });
        detail = preview(event.data);
      } else {
        const isBlob = event.data instanceof Blob;
        const buffer = isBlob ? await event.data.arrayBuffer() : event.data;
        Object.assign(report, { dataType: isBlob ? "Blob" : "ArrayBuffer", base64: toBase64(buffer) });
        detail = `${report.dataType}, ${preview(buffer)}`;
      }
    } else if (kind === "close") {
      Object.assign(report, { code: event.code, reason: event.reason, wasClean: event.wasClean });
      detail = `code ${event.code}, reason ${JSON.stringify(event.reason)}, wasClean ${event.wasClean}`;
    }
    report.state = this.state();
    this.send(report);
    this.log.push([report.at, kind, detail]);
    this.changed();
  }

  // Code from Python becomes the handler of one event of the socket; it runs in turn with
  // the reports (after the event's own), and what it shows or throws is reported too.
  // Code that does not compile changes nothing: the handler before it stays.
  on(kind, code) {
    let handler = null;
    try {
      if (code) handler = new AsyncFunction("event", "socket", "show", code);
    } catch (error) {
      throw Object.assign(described(error), { compiled: true });
    }
    const old = this.handlers.get(kind);
    if (old) this.socket.removeEventListener(kind, old);
    this.handlers.delete(kind);
    if (!handler) {
      this.log.push([this.seconds(), `on ${kind}`, "removed"]);
      return;
    }
    const show = (text) => this.tell("show", { text: String(text) }, String(text));
    const listener = (event) => this.later(async () => {
      try {
        await handler(event, this.socket, show);
      } catch (thrown) {
        const error = described(thrown);
        const where = error.line === null ? "" : ` (line ${error.line})`;
        this.tell("handlerError", { on: kind, error }, `${error.name}: ${error.message}${where}`,
          `${kind} handler threw`);
      }
    });
    this.socket.addEventListener(kind, listener);
    this.handlers.set(kind, listener);
    this.log.push([this.seconds(), `on ${kind}`, `${code.split("\n").length} line(s) of code`]);
  }

  // A report of the page's own (not a socket event): to Python, and a row in the log.
  tell(kind, fields, detail, what = kind) {
    const at = this.seconds();
    this.send({ type: "event", event: kind, at, ...fields, state: this.state() });
    this.log.push([at, what, detail]);
    this.changed();
  }

  async compare(command) {
    const url = socketUrl(command.url);
    const { count, size, timeout } = command;
    const measured = { WebSocket: await floodWebSocket(url, count, size, timeout) };
    const ws = measured.WebSocket;
    this.log.push([this.seconds(), "WebSocket", `sender done ${(ws.handedOver.at(-1) * 1000).toFixed(0)} ms, `
      + `reader done ${(ws.read.at(-1) * 1000).toFixed(0)} ms, most bufferedAmount ${ws.peakHeld}`]);
    this.changed();
    if (typeof WebSocketStream !== "function") {
      measured.WebSocketStream = null;
      this.log.push([this.seconds(), "WebSocketStream", "not in this browser"]);
      return measured;
    }
    const stream = measured.WebSocketStream = await floodStream(url, count, size, timeout);
    this.log.push([this.seconds(), "WebSocketStream", `sender done ${(stream.handedOver.at(-1) * 1000).toFixed(0)} ms, `
      + `reader done ${(stream.read.at(-1) * 1000).toFixed(0)} ms, most pending writes ${stream.peakHeld}`]);
    return measured;
  }

  async command(command) {
    const reply = { type: "reply", id: command.id };
    try {
      if (command.op === "send") {
        this.socket.send(command.text !== undefined ? command.text : fromBase64(command.base64));
        const data = command.text !== undefined ? command.text : fromBase64(command.base64).buffer;
        this.log.push([this.seconds(), "send()", preview(data)]);
      } else if (command.op === "close") {
        if (command.code === undefined) this.socket.close();
        else this.socket.close(command.code, command.reason);
        this.log.push([this.seconds(), "close()", command.code === undefined ? ""
          : `${command.code}, ${JSON.stringify(command.reason)}`]);
      } else if (command.op === "binaryType") {
        this.socket.binaryType = command.value;
        this.log.push([this.seconds(), "binaryType =", JSON.stringify(command.value)]);
      } else if (command.op === "on") {
        this.on(command.event, command.code);
      } else if (command.op === "compare") {
        this.log.push([this.seconds(), "compare", `${command.count} × ${command.size} bytes to ${command.url}`]);
        this.changed();
        reply.measured = await this.compare(command);
      }
      reply.state = this.state();
    } catch (error) {
      if (error.compiled) { // the learner's code did not compile: say so, with its line if known
        reply.error = { name: error.name, message: error.message, line: error.line };
      } else {
        reply.error = { name: error.name, message: error.message };
      }
      this.log.push([this.seconds(), "threw", `${reply.error.name}: ${reply.error.message}`]);
    }
    this.send(reply);
    this.changed();
  }

  setNote(text) {
    this.note = text;
    this.changed();
  }

  changed() {
    for (const listener of this.listeners) listener();
  }

  close() {
    if (this.socket) this.socket.close(1001, "page closed the widget");
    this.report.close();
  }
}

// By token: initialize() and render() may be handed different wrappers of the same model.
const sessions = new Map();

function initialize({ model }) {
  const token = model.get("token");
  const session = new Session(model);
  sessions.set(token, session);
  return () => {
    sessions.delete(token);
    session.close();
  };
}

function render({ model, el }) {
  const session = sessions.get(model.get("token"));
  el.classList.add("wslab-browser-socket");
  const head = document.createElement("div");
  const table = document.createElement("table");
  head.style.fontFamily = table.style.fontFamily = "var(--jp-code-font-family, monospace)";
  table.style.fontSize = "var(--jp-code-font-size, 13px)";
  el.append(head, table);
  const draw = () => {
    const s = session.socket;
    if (!s) {
      head.textContent = `${model.get("url")}  not opened` + (session.note ? `  · ${session.note}` : "");
      return;
    }
    head.textContent = `${s.url}  readyState ${s.readyState} (${STATES[s.readyState]})`
      + `  bufferedAmount ${s.bufferedAmount}  binaryType ${s.binaryType}`
      + (session.note ? `  · ${session.note}` : "");
    head.dataset.readyState = STATES[s.readyState];
    table.replaceChildren(...session.log.slice(-30).map(([at, what, detail]) => {
      const row = document.createElement("tr");
      row.dataset.what = what;
      if (what.endsWith("threw")) row.style.color = "var(--jp-error-color1, #d32f2f)";
      for (const text of [`${at.toFixed(3)} s`, what, detail]) {
        const cell = document.createElement("td");
        cell.textContent = text; // text from the network is text, never HTML
        cell.style.padding = "0 0.8em 0 0";
        row.append(cell);
      }
      return row;
    }));
  };
  session.listeners.add(draw);
  draw();
  return () => session.listeners.delete(draw);
}

export default { initialize, render };
