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

  command(command) {
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
      }
      reply.state = this.state();
    } catch (error) {
      reply.error = { name: error.name, message: error.message };
      this.log.push([this.seconds(), "threw", `${error.name}: ${error.message}`]);
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
