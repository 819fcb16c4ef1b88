// respa's chat widget: Converse.js logged in anonymously, one chat with a queue of respa.
//
// Embed it with one element and one script (README, "Web widget"):
//   <div id="respa-chat"></div>
//   <script>window.respaWidget = { visitorId: "c-1234" };</script>   <!-- optional -->
//   <script type="module" src="https://chat.example.com/respa-widget.js"></script>
// Settings: widget-config.js beside this file, overridden by window.respaWidget.
//
// What it tells respa (namespace urn:respa:visitor:0): a session token S that the browser keeps
// in localStorage while the visitor comes back within `sessionMinutes`, and the site's visitor
// id V. Both go in <visitor session='S' id='V'/>, on the directed presence sent to the queue at
// every connect and on every message to the queue. respa keys the open conversation by S, so a
// reload (a new anonymous JID) continues the same chat with the same agent. The queue answers
// the presence with its own: available = open with an agent free, away = open but busy,
// xa = closed; its <status/> is shown under the state.
import defaults from './widget-config.js';

const NS_VISITOR = 'urn:respa:visitor:0';
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const HISTORY_MAX = 200;
const ACTIVE_TICK_MS = 30000;

function merged(base, over) {
  const out = { ...base, ...over };
  for (const k of ['texts', 'colours']) out[k] = { ...base[k], ...(over && over[k]) };
  return out;
}

function resolveSettings() {
  const cfg = merged(defaults, window.respaWidget || {});
  const base = new URL('.', import.meta.url);
  const ws = new URL('/xmpp-websocket', base);
  ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
  cfg.websocketUrl = cfg.websocketUrl || ws.href;
  cfg.boshUrl = cfg.boshUrl || new URL('/http-bind', base).href;
  cfg.converseDist = new URL(cfg.converseDist, base).href;
  cfg.queue = String(cfg.queue).toLowerCase();
  const v = cfg.visitorId;
  if (v !== null && v !== undefined && v !== '') {
    cfg.visitorId = String(v);
    // XML 1.0 forbids most control characters; respa takes at most 128 characters
    if (cfg.visitorId.length > 128 || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(cfg.visitorId)) {
      console.warn('respa widget: visitorId ignored (over 128 characters or control characters)');
      cfg.visitorId = null;
    }
  } else {
    cfg.visitorId = null;
  }
  return cfg;
}

// --- the session token and the history, in localStorage ------------------------------------
// One record per queue: { token, visitorId, lastActive (ms), history: [{dir, body, time, msgid}] }
class Session {
  constructor(cfg) {
    this.key = `respa-widget:${cfg.queue}`;
    this.maxIdle = Number(cfg.sessionMinutes) * 60000;
    const now = Date.now();
    const old = this.read();
    const sameVisitor = !old || !old.visitorId || !cfg.visitorId || old.visitorId === cfg.visitorId;
    if (old && typeof old.token === 'string' && /^[A-Za-z0-9_-]{22,64}$/.test(old.token)
        && now - Number(old.lastActive) < this.maxIdle && sameVisitor) {
      this.token = old.token;
      this.resumed = true;
      this.write({ ...old, visitorId: cfg.visitorId || old.visitorId || null, lastActive: now });
    } else {
      this.token = Session.newToken();
      this.resumed = false;
      this.write({ token: this.token, visitorId: cfg.visitorId, lastActive: now, history: [] });
    }
  }

  static newToken(length = 24) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    return Array.from(bytes, (b) => TOKEN_ALPHABET[b & 63]).join('');
  }

  read() {
    try {
      return JSON.parse(localStorage.getItem(this.key) || 'null');
    } catch (e) {
      return null;
    }
  }

  write(record) {
    try {
      localStorage.setItem(this.key, JSON.stringify(record));
    } catch (e) {
      console.warn('respa widget: cannot store the session', e);
    }
  }

  // read-modify-write, so that two tabs of the site do not undo each other's lines
  update(change) {
    const rec = this.read();
    if (!rec || rec.token !== this.token) return;   // another tab started a new session
    change(rec);
    rec.lastActive = Date.now();
    this.write(rec);
  }

  touch() {
    this.update(() => {});
  }

  get history() {
    const rec = this.read();
    return rec && rec.token === this.token && Array.isArray(rec.history) ? rec.history : [];
  }

  remember(item) {
    this.update((rec) => {
      rec.history = Array.isArray(rec.history) ? rec.history : [];
      const same = item.replaces && rec.history.find((h) => h.msgid === item.replaces && h.dir === item.dir);
      if (same) {
        same.body = item.body;
      } else if (!rec.history.some((h) => h.msgid === item.msgid && h.dir === item.dir)) {
        rec.history.push({ dir: item.dir, body: item.body, time: item.time, msgid: item.msgid });
        rec.history.splice(0, rec.history.length - HISTORY_MAX);
      }
    });
  }
}

// --- WebSocket, else BOSH --------------------------------------------------------------------
function websocketOpens(url, timeout) {
  return new Promise((resolve) => {
    let ws;
    try {
      ws = new WebSocket(url, 'xmpp');
    } catch (e) {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => { ws.close(); resolve(false); }, timeout);
    ws.onopen = () => { clearTimeout(timer); ws.close(); resolve(true); };
    ws.onerror = () => { clearTimeout(timer); resolve(false); };
  });
}

async function pickTransport(cfg) {
  if (cfg.transport === 'bosh') return { bosh_service_url: cfg.boshUrl };
  if (cfg.transport === 'websocket') return { websocket_url: cfg.websocketUrl };
  const remembered = `respa-widget:bosh-only:${cfg.websocketUrl}`;
  if (sessionStorage.getItem(remembered) !== '1') {
    if (await websocketOpens(cfg.websocketUrl, cfg.websocketTimeout)) {
      // both: Converse switches to BOSH by itself when the WebSocket fails later
      return { websocket_url: cfg.websocketUrl, bosh_service_url: cfg.boshUrl };
    }
    sessionStorage.setItem(remembered, '1');   // do not wait for it again on every page
  }
  console.info('respa widget: no WebSocket, using BOSH');
  return { bosh_service_url: cfg.boshUrl };
}

// --- the page around Converse ----------------------------------------------------------------
function css(cfg) {
  const c = cfg.colours;
  return `
  .respa-widget { width: ${cfg.width}; height: ${cfg.height}; display: flex; flex-direction: column;
    border: 1px solid #d0d7de; border-radius: 8px; overflow: hidden; background: #fff;
    font-family: system-ui, sans-serif; box-sizing: border-box; }
  .respa-header { background: ${c.accent}; color: ${c.accentText}; padding: 10px 14px; }
  .respa-title { font-weight: 600; font-size: 16px; display: block; }
  .respa-status { display: flex; align-items: center; gap: 6px; font-size: 14px; margin-top: 4px; }
  .respa-dot { width: 10px; height: 10px; border-radius: 50%; background: ${c.closed};
    box-shadow: 0 0 0 2px rgba(255,255,255,.7); }
  .respa-widget[data-state=open] .respa-dot { background: ${c.open}; }
  .respa-widget[data-state=busy] .respa-dot { background: ${c.busy}; }
  .respa-widget[data-state=closed] .respa-dot { background: ${c.closed}; }
  .respa-widget[data-state=unavailable] .respa-dot { background: ${c.unavailable}; }
  .respa-state { font-weight: 600; }
  .respa-status-text { font-size: 13px; opacity: .9; }
  .respa-status-text:empty { display: none; }
  .respa-converse { flex: 1; min-height: 0; position: relative; }
  .respa-converse converse-root, .respa-converse #conversejs, .respa-converse .chatbox,
  .respa-converse .flyout { width: 100% !important; height: 100% !important; }
  .respa-converse #conversejs { --chat-color: ${c.accent}; --chat-color-hover: ${c.accent}; }
  .respa-converse converse-chat-heading { display: none !important; }   /* the header above says who */
  `;
}

function buildFrame(cfg) {
  let host = document.querySelector(cfg.container);
  if (!host) {
    host = document.createElement('div');
    host.id = cfg.container.startsWith('#') ? cfg.container.slice(1) : 'respa-chat';
    document.body.appendChild(host);
  }
  const style = document.createElement('style');
  style.textContent = css(cfg);
  document.head.appendChild(style);
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = cfg.converseDist + 'converse.min.css';
  document.head.appendChild(link);

  host.innerHTML = `
    <div class="respa-widget" data-state="connecting">
      <div class="respa-header">
        <span class="respa-title"></span>
        <div class="respa-status" role="status" aria-live="polite">
          <span class="respa-dot"></span><span class="respa-state"></span>
        </div>
        <div class="respa-status-text"></div>
      </div>
      <div class="respa-converse"><converse-root></converse-root></div>
    </div>`;
  host.querySelector('.respa-title').textContent = cfg.texts.title;
  const root = host.querySelector('.respa-widget');
  const show = (state, text = '') => {
    if (state === 'unavailable' && !text) text = cfg.texts.unavailableText;
    root.dataset.state = state;
    host.querySelector('.respa-state').textContent = cfg.texts[state] || state;
    host.querySelector('.respa-status-text').textContent = text;
  };
  show('connecting');
  return { host, show };
}

// <presence/> from the queue -> open / busy / closed (+ its status text)
function queueState(presence) {
  const type = presence.getAttribute('type');
  const child = (name) => {
    const el = Array.from(presence.children).find((e) => e.localName === name);
    return el ? el.textContent.trim() : '';
  };
  const status = child('status');
  if (type === 'error' || type === 'unavailable') return ['unavailable', status];
  if (type) return null;   // subscribe, probe...: not a state
  const show = child('show');
  if (show === 'xa') return ['closed', status];
  if (show === 'away' || show === 'dnd') return ['busy', status];
  return ['open', status];
}

async function start() {
  const cfg = resolveSettings();
  const session = new Session(cfg);
  const frame = buildFrame(cfg);
  let converse;
  try {
    ({ default: converse } = await import(cfg.converseDist + 'converse.min.js'));
  } catch (e) {
    frame.show('unavailable');
    throw e;
  }
  const { Strophe, $pres } = converse.env;
  const isQueue = (jid) => !!jid && Strophe.getBareJidFromJid(jid).toLowerCase() === cfg.queue;
  const visitorAttrs = () => {
    const a = { xmlns: NS_VISITOR, session: session.token };
    if (cfg.visitorId) a.id = cfg.visitorId;
    return a;
  };
  const state = { token: session.token, resumed: session.resumed, queue: null, jid: null };

  converse.plugins.add('respa-widget', {
    initialize() {
      const { api } = this._converse;
      let presenceRef = null;
      let retry = null;
      const hello = () => api.send($pres({ to: cfg.queue }).c('visitor', visitorAttrs()).tree());
      const announce = () => {
        const conn = api.connection.get();
        state.jid = conn.jid;
        carryVisitor(conn);
        if (presenceRef) conn.deleteHandler(presenceRef);
        presenceRef = conn.addHandler((pres) => {
          if (isQueue(pres.getAttribute('from'))) {
            const shown = queueState(pres);
            if (shown) {
              state.queue = shown;
              frame.show(...shown);
              // respa stopped, or is not connected (Prosody answers an error): ask again
              // later, so the widget comes back by itself when respa does
              clearTimeout(retry);
              if (shown[0] === 'unavailable') retry = setTimeout(hello, cfg.retrySeconds * 1000);
            }
          }
          return true;   // keep the handler
        }, null, 'presence');
        // directed presence: respa learns (again) where this visitor is and answers with the
        // queue's state; Prosody sends the queue `unavailable` when this session ends
        hello();
      };
      api.listen.on('connected', announce);
      api.listen.on('reconnected', announce);
      api.listen.on('will-reconnect', () => frame.show('connecting'));
      api.listen.on('disconnected', () => {
        clearTimeout(retry);
        frame.show('unavailable');
      });

      // every message to the queue carries the session too: the chat's own messages through
      // Converse's hook...
      api.listen.on('createMessageStanza', (chat, data) => {
        if (isQueue(chat.get('jid'))) {
          data.stanza.cnode(Strophe.xmlElement('visitor', visitorAttrs())).root();
        }
        return data;
      });
      // ...and what Converse sends by other ways (chat states, receipts, markers)
      const carryVisitor = (conn) => {
        if (conn.respaCarriesVisitor) return;
        conn.respaCarriesVisitor = true;
        const send = conn.send.bind(conn);
        const tag = (st) => {
          const el = st && typeof st.tree === 'function' ? st.tree() : st;
          if (el && el.nodeName === 'message' && isQueue(el.getAttribute('to'))
              && !Array.from(el.children).some((c) => c.localName === 'visitor')) {
            el.appendChild(Strophe.xmlElement('visitor', visitorAttrs()));
          }
          return el;
        };
        conn.send = (st) => send(Array.isArray(st) ? st.map(tag) : tag(st));
      };

      // the transcript, kept with the session, to show again after a reload
      api.listen.on('sendMessage', ({ chatbox, message }) => {
        if (!isQueue(chatbox.get('jid')) || !message.get('body')) return;
        session.remember({ dir: 'out', body: message.get('body'), time: message.get('time'),
                           msgid: message.get('msgid') });
      });
      api.listen.on('message', ({ attrs }) => {
        if (!attrs || !isQueue(attrs.from) || !attrs.body || attrs.is_error) return;
        session.remember({ dir: 'in', body: attrs.body, time: attrs.time || new Date().toISOString(),
                           msgid: attrs.msgid || Session.newToken(12), replaces: attrs.replace_id });
      });

      // the chat Converse opens for the queue (auto_join_private_chats) gets the earlier lines
      const restored = new WeakSet();
      api.listen.on('chatBoxInitialized', (chat) => {
        if (!isQueue(chat.get('jid')) || restored.has(chat)) return;
        restored.add(chat);
        chat.contact?.set({ nickname: cfg.texts.agentName });   // not the queue's JID
        restoreHistory(chat).catch((e) => console.warn('respa widget: history', e));
      });

      async function restoreHistory(chat) {
        const items = session.history;
        if (!items.length) return;
        await chat.messages.fetched;
        const me = api.connection.get().jid;
        for (const h of items) {
          if (chat.messages.findWhere({ msgid: h.msgid })) continue;
          chat.messages.create({
            type: 'chat', msgid: h.msgid, body: h.body, message: h.body, time: h.time,
            from: h.dir === 'out' ? me : cfg.queue, sender: h.dir === 'out' ? 'me' : 'them',
            is_restored: true,
          });
        }
      }
    },
  });

  // the visitor counts as active while the page is open and in front
  setInterval(() => { if (document.visibilityState === 'visible') session.touch(); }, ACTIVE_TICK_MS);
  addEventListener('pagehide', () => session.touch());

  window.respaWidgetState = state;   // what the widget knows (for the site's scripts, tests)
  const transport = await pickTransport(cfg);
  state.transport = transport.websocket_url ? 'websocket' : 'bosh';
  await converse.initialize({
    authentication: 'anonymous',
    jid: cfg.anonymousDomain,
    auto_login: true,
    ...transport,
    discover_connection_methods: false,
    view_mode: 'embedded',
    singleton: true,
    auto_join_private_chats: [cfg.queue],
    allow_non_roster_messaging: true,
    allow_contact_requests: false,        // no "add the queue as a contact?"
    whitelisted_plugins: ['respa-widget'],
    persistent_store: 'sessionStorage',   // Converse's own cache; the transcript is kept above
    clear_cache_on_logout: true,
    auto_reconnect: true,
    play_sounds: false,
    show_client_info: false,
    show_send_button: true,
    nickname: cfg.texts.you,              // not the anonymous JID
    i18n: cfg.language,
    loglevel: 'warn',
    assets_path: cfg.converseDist,
  });
}

start().catch((e) => {
  console.error('respa widget failed to start', e);
});
