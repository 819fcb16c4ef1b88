// respa's chat widget, the part that loads on open or once the page is idle (respa-widget.js
// draws the launcher and the window): the chat with the queue on @converse/headless.
//
// What it tells respa (namespace urn:respa:visitor:0, README "Web widget"): a session token S
// that the browser keeps in localStorage while the visitor comes back within `sessionMinutes`,
// and the site's visitor id V, in <visitor session='S' id='V'/> on the directed presence sent
// to the queue at every connect and on every message to it; the pre-chat values and <offline/>
// inside it on the first message of a chat. respa keys the open conversation by S, so a
// reload (a new anonymous JID) continues the same chat with the same agent. The queue answers
// the presence with its own: available = an agent is free for this visitor now, away = open
// but busy, xa = closed; its <status/> is shown under the state.
const NS_VISITOR = 'urn:respa:visitor:0';
const NS_WIDGET = 'urn:respa:widget';
const NS_NICK = 'http://jabber.org/protocol/nick';
const NS_OOB = 'jabber:x:oob';
const NS_STATES = 'http://jabber.org/protocol/chatstates';
const NS_UPLOAD = 'urn:xmpp:http:upload:0';
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const HISTORY_MAX = 200;
const ACTIVE_TICK_MS = 30000;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]/;
const LIMITS = { name: 100, email: 254, message: 4000 };
const IMAGE = /\.(png|jpe?g|gif|webp|avif)(\?.*)?$/i;
const ASK_MS = 600000;   // respa forgets an end-of-chat question after 10 min (rating_window)

const child = (stanza, name, ns) => Array.from(stanza.children).find(
  (e) => e.localName === name && (!ns || e.namespaceURI === ns || e.getAttribute('xmlns') === ns));
const text = (stanza, name, ns) => (child(stanza, name, ns)?.textContent || '').trim();
const newToken = (length = 24) => Array.from(crypto.getRandomValues(new Uint8Array(length)),
  (b) => TOKEN_ALPHABET[b & 63]).join('');

// --- the session and the transcript, in localStorage ----------------------------------------
// One record per widget: { token, visitorId, lastActive (ms), history: [{dir, kind, body, nick,
// url, time, msgid}], phase: new|chat|ended, queue, prechat: {name, email, topic},
// asks: [{kind: rating|transcript, max, msgid, time (ms)}] the end-of-chat questions not yet answered }
class Session {
  constructor(cfg) {
    this.cfg = cfg;
    this.key = `respa-widget:${cfg.queue}`;
    this.maxIdle = Number(cfg.sessionMinutes) * 60000;
    const old = this.read();
    const sameVisitor = !old || !old.visitorId || !cfg.visitorId || old.visitorId === cfg.visitorId;
    if (old && typeof old.token === 'string' && /^[A-Za-z0-9_-]{22,64}$/.test(old.token)
        && Date.now() - Number(old.lastActive) < this.maxIdle && sameVisitor) {
      this.token = old.token;
      this.resumed = true;
      this.update((rec) => { rec.visitorId = cfg.visitorId || old.visitorId || null; });
    } else {
      this.renew();
    }
  }

  renew() {
    this.token = newToken();
    this.resumed = false;
    this.write({ token: this.token, visitorId: this.cfg.visitorId, lastActive: Date.now(), history: [],
      phase: 'new', queue: this.cfg.queue, prechat: null });
  }

  read() {
    try { return JSON.parse(localStorage.getItem(this.key) || 'null'); } catch (e) { return null; }
  }

  write(record) {
    try { localStorage.setItem(this.key, JSON.stringify(record)); } catch (e) { console.warn('respa widget: cannot store the session', e); }
  }

  // read-modify-write, so that two tabs of the site do not undo each other's lines
  update(change) {
    const rec = this.read();
    if (!rec || rec.token !== this.token) return;   // another tab started a new session
    change(rec);
    rec.lastActive = Date.now();
    this.write(rec);
  }

  get record() {
    const rec = this.read();
    return rec && rec.token === this.token ? rec : { history: [], phase: 'new' };
  }

  set(fields) { this.update((rec) => Object.assign(rec, fields)); }

  remember(item) {
    this.update((rec) => {
      rec.history = Array.isArray(rec.history) ? rec.history : [];
      const same = item.replaces && rec.history.find((h) => h.msgid === item.replaces && h.dir === item.dir);
      if (same) same.body = item.body;
      else if (!rec.history.some((h) => h.msgid === item.msgid && h.dir === item.dir)) {
        const { replaces, ...kept } = item;
        rec.history.push(kept);
        rec.history.splice(0, rec.history.length - HISTORY_MAX);
      }
    });
  }

  forget(msgid) {
    this.update((rec) => { rec.history = (rec.history || []).filter((h) => h.msgid !== msgid); });
  }
}

// --- WebSocket, else BOSH --------------------------------------------------------------------
function websocketOpens(url, timeout) {
  return new Promise((resolve) => {
    let ws;
    try { ws = new WebSocket(url, 'xmpp'); } catch (e) { resolve(false); return; }
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

// <presence/> from a queue -> [open|busy|closed|unavailable, status text]
function queueState(presence) {
  const type = presence.getAttribute('type');
  const status = text(presence, 'status') || text(presence.querySelector('error') || presence, 'text');
  if (type === 'error' || type === 'unavailable') return ['unavailable', type === 'error' ? '' : status];
  if (type) return null;   // subscribe, probe...: not a state
  const show = text(presence, 'show');
  if (show === 'xa') return ['closed', status];
  if (show === 'away' || show === 'dnd') return ['busy', status];
  return ['open', status];
}

function humanSize(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(n % 1048576 ? 1 : 0)} MB` : `${Math.ceil(n / 1024)} KB`;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children);
  return e;
}

export class Chat {
  constructor(widget) {
    this.w = widget;
    this.cfg = widget.cfg;
    this.E = widget.els;
    this.session = new Session(this.cfg);
    this.states = new Map();      // queue -> [state, text]
    this.connected = false;
    this.pending = new Map();     // msgid -> {body, first} sent and not yet known to be taken
    this.upload = undefined;      // {service, max} once discovered; null: none
    this.typingTimer = null;
    this.composing = false;
    Object.assign(window.respaWidgetState, { token: this.session.token, resumed: this.session.resumed, jid: null });
    this.bind();
    this.restore();
    this.render();
  }

  get queue() { return this.session.record.queue || this.cfg.queue; }
  get phase() { return this.session.record.phase || 'new'; }
  get queues() { return [...new Set([this.cfg.queue, ...this.cfg.topics.map((t) => t.queue)])]; }
  isQueue(jid) {
    return !!jid && this.queues.includes(this.Strophe.getBareJidFromJid(jid).toLowerCase());
  }

  // --- the window's parts ------------------------------------------------------------------
  bind() {
    const E = this.E;
    E.composer.addEventListener('submit', (ev) => { ev.preventDefault(); this.sendTyped(); });
    E.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); this.sendTyped(); }
    });
    E.input.addEventListener('input', () => this.typed());
    E.attach.addEventListener('click', () => E.file.click());
    E.file.addEventListener('change', () => {
      const f = E.file.files[0];
      E.file.value = '';
      if (f) this.sendFile(f);
    });
    E.newChat.addEventListener('click', () => this.newChat());
    setInterval(() => { if (document.visibilityState === 'visible') this.session.update(() => {}); }, ACTIVE_TICK_MS);
    addEventListener('pagehide', () => this.session.update(() => {}));
  }

  applyTexts() {
    this.renderForms();
    const welcome = this.E.log.querySelector('.respa-welcome');
    if (welcome) welcome.querySelector('.respa-text').textContent = this.w.t('welcome');
    this.renderAsks();
    this.renderBar();
  }

  focus() {
    const target = [this.E.forms.querySelector('input,select,textarea'), this.E.input, this.E.newChat]
      .find((e) => e && e.offsetParent !== null && !e.disabled);
    (target || this.E.log).focus();
  }

  scrollDown() { this.E.log.scrollTop = this.E.log.scrollHeight; }

  restore() {
    this.E.log.replaceChildren();
    this.addLine({ dir: 'in', kind: 'notice', body: this.w.t('welcome'), welcome: true }, false);
    for (const h of this.session.record.history) this.addLine(h, false);
    this.scrollDown();
  }

  addLine(item, live = true) {
    const cls = item.dir === 'out' ? 'me' : item.kind === 'notice' || item.kind === 'ended' ? `notice${item.kind === 'ended' ? ' ended' : ''}` : 'them';
    const box = el('div', { class: `respa-msg ${cls}${item.welcome ? ' respa-welcome' : ''}`, 'data-msgid': item.msgid || null });
    // XEP-0245: "/me looks it up" is an action of the agent's, shown under their name
    if (item.kind === 'agent' && /^\/me /.test(item.body || '')) {
      const who = item.nick || this.w.t('agentName');
      box.append(el('span', { class: 'respa-text respa-action', text: `${who} ${item.body.slice(4)}` }));
      this.E.log.append(box);
      if (live) this.scrollDown();
      return box;
    }
    if (item.kind === 'agent' || item.dir === 'out') {
      box.append(el('span', { class: 'respa-who', text: item.dir === 'out' ? this.w.t('you') : (item.nick || this.w.t('agentName')) }));
    } else {
      box.append(el('span', { class: 'respa-sr', text: `${this.w.t('agentName')}: ` }));
    }
    const url = item.url || (/^https?:\/\/\S+$/.test(item.body || '') ? item.body : null);
    if (url && /^https?:/.test(url)) {
      const a = el('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'respa-text' });
      if (IMAGE.test(url)) a.append(el('img', { src: url, alt: this.w.t('image'), class: 'respa-image' }));
      else {
        let name = url.split('/').pop() || url;
        try { name = decodeURIComponent(name); } catch (e) { /* shown as it came */ }
        a.textContent = name;
      }
      box.append(a);
      const extra = (item.body || '').replace(url, '').trim();
      if (extra) box.append(el('div', { class: 'respa-text', text: extra }));
    } else {
      box.append(el('span', { class: 'respa-text', text: item.body }));
    }
    box.querySelector('img')?.addEventListener('load', () => this.scrollDown());
    this.E.log.append(box);
    if (live) this.scrollDown();
    return box;
  }

  // what shows under the transcript: the pre-chat or offline form, the input, or "start a new chat"
  render() {
    const phase = this.phase;
    const state = (this.states.get(this.queue) || this.w.state)[0];
    const offline = phase === 'new' && state === 'closed' && this.cfg.offlineForm;
    const p = this.cfg.prechat;
    const wantsPrechat = phase === 'new' && !this.session.record.prechat
      && ['name', 'email', 'topic'].some((f) => p[f] === 'required' || p[f] === 'optional');
    this.form = offline ? 'offline' : wantsPrechat ? 'prechat' : null;
    this.E.ended.hidden = phase !== 'ended';
    this.E.composer.hidden = phase === 'ended' || !!this.form;
    this.E.attach.hidden = this.upload === null;
    // "write your question" is not what a closed queue says
    const welcome = this.E.log.querySelector('.respa-welcome');
    if (welcome) welcome.hidden = state === 'closed';
    this.renderForms();
    this.renderAsks();
    this.renderBar();
  }

  // --- the end-of-chat questions: buttons that send what a typed answer would ---------------
  get asks() {
    const asks = this.session.record.asks;
    return Array.isArray(asks) ? asks.filter((a) => Date.now() - a.time < ASK_MS) : [];
  }

  renderAsks() {
    const E = this.E;
    const t = (k, v) => this.w.t(k, v);
    const asks = this.asks;
    const key = `${this.w.lang}:${asks.map((a) => a.msgid).join(',')}`;
    if (E.asks.dataset.key === key) return;
    E.asks.dataset.key = key;
    E.asks.replaceChildren(...asks.map((ask) => {
      const id = `respa-ask-${ask.msgid}`;
      const choices = ask.kind === 'rating'
        ? Array.from({ length: ask.max }, (_, i) => {
          const n = i + 1;
          const word = ask.max === 5 ? t(`rate${n}`) : '';
          return [String(n), word ? t('rateButton', { n, max: ask.max, word }) : `${n}/${ask.max}`, String(n)];
        })
        : [[t('yes'), null, t('yesReply')], [t('no'), null, t('noReply')]];
      return el('div', { class: `respa-ask respa-ask-${ask.kind}`, role: 'group', 'aria-labelledby': id },
        el('p', { class: 'respa-ask-label', id, text: t(ask.kind === 'rating' ? 'rateLabel' : 'transcriptLabel') }),
        el('div', { class: 'respa-choices' }, ...choices.map(([label, aria, reply]) => {
          const b = el('button', { type: 'button', class: 'respa-choice', 'aria-label': aria, 'data-reply': reply, text: label });
          b.addEventListener('click', () => this.answer(ask, reply));
          return b;
        })));
    }));
    E.asks.querySelectorAll('button').forEach((b) => { b.disabled = !!this.down || !this.connected; });
    this.scrollDown();   // the buttons take room from the log: its last line stays in view
  }

  answer(ask, reply) {
    if (this.down || !this.connected) return;
    this.session.update((rec) => { rec.asks = (rec.asks || []).filter((a) => a.msgid !== ask.msgid); });
    this.sendLine(reply);
    // the next question's first button, else "Start a new chat"
    (this.E.asks.querySelector('button') || (this.phase === 'ended' ? this.E.newChat : this.E.input)).focus();
  }

  renderBar() {
    const down = !this.connected || (this.states.get(this.queue) || [])[0] === 'unavailable';
    this.down = down && this.started;
    const E = this.E;
    E.input.disabled = this.down;
    E.send.disabled = this.down || !this.connected;
    E.attach.disabled = this.down || !this.upload;
    E.forms.querySelectorAll('button[type=submit]').forEach((b) => { b.disabled = this.down; });
    E.asks.querySelectorAll('button').forEach((b) => { b.disabled = this.down || !this.connected; });
    E.bar.textContent = this.down ? this.w.t('outage') : (this.barText || '');
    window.respaWidgetState.down = this.down;
  }

  say(textOrNull) {       // a short line of the widget's own above the input (upload, errors)
    this.barText = textOrNull || '';
    this.renderBar();
  }

  field(name, label, type, rule, value = '') {
    const id = `respa-f-${name}`;
    const input = type === 'select'
      ? el('select', { id, name }, el('option', { value: '', text: this.w.t('chooseTopic') }),
        ...this.cfg.topics.map((t) => el('option', { value: t.id, text: t.label })))
      : type === 'textarea' ? el('textarea', { id, name, rows: '3', maxlength: String(LIMITS.message) })
        : el('input', { id, name, type, autocomplete: name === 'email' ? 'email' : name === 'name' ? 'name' : null,
          maxlength: String(LIMITS[name] || 100) });
    input.value = value;
    if (rule === 'required') input.setAttribute('aria-required', 'true');
    const err = el('p', { class: 'respa-error', id: `${id}-error` });
    input.setAttribute('aria-describedby', err.id);
    const lab = el('label', { for: id, text: `${label}${rule === 'optional' ? ` ${this.w.t('optional')}` : ''}` });
    return [lab, input, err];
  }

  renderForms() {
    const E = this.E;
    const kind = this.form;
    if (E.forms.dataset.kind === kind && E.forms.dataset.lang === this.w.lang) return;
    E.forms.dataset.kind = kind || '';
    E.forms.dataset.lang = this.w.lang;
    E.forms.replaceChildren();
    if (!kind) return;
    const t = (k) => this.w.t(k);
    const old = this.draftForm || {};
    const form = el('form', { class: `respa-form respa-${kind}`, novalidate: true, 'aria-label': t(kind === 'offline' ? 'offlineIntro' : 'prechatIntro') });
    form.append(el('p', { text: t(kind === 'offline' ? 'offlineIntro' : 'prechatIntro') }));
    const rules = kind === 'offline' ? { name: 'required', email: 'required', topic: 'off' } : this.cfg.prechat;
    if (rules.name !== 'off') form.append(...this.field('name', t('name'), 'text', rules.name, old.name));
    if (rules.email !== 'off') form.append(...this.field('email', t('email'), 'email', rules.email, old.email));
    if (rules.topic !== 'off' && this.cfg.topics.length) form.append(...this.field('topic', t('topic'), 'select', rules.topic, old.topic));
    if (kind === 'offline') form.append(...this.field('message', t('message'), 'textarea', 'required', old.message));
    form.append(el('button', { type: 'submit', class: 'respa-button', text: t(kind === 'offline' ? 'sendMessage' : 'startChat') }));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.submitForm(form, kind, rules); });
    E.forms.append(form);
    this.renderBar();
  }

  // checked here, and again by respa (which answers a refused value with <invalid field=.../>)
  check(form, rules) {
    const values = {};
    let first = null;
    for (const name of ['name', 'email', 'topic', 'message']) {
      const input = form.elements[name];
      if (!input) continue;
      const v = input.value.trim();
      const rule = name === 'message' ? 'required' : rules[name];
      let err = '';
      if (!v && rule === 'required') err = this.w.t('required');
      else if (v && CONTROL.test(v)) err = this.w.t('badChars');
      else if (v && name === 'email' && (new TextEncoder().encode(v).length > LIMITS.email || !/^[^\s@<>]+@[^\s@<>.]+(\.[^\s@<>.]+)+$/.test(v))) err = this.w.t('badEmail');
      else if (v && name !== 'email' && v.length > (LIMITS[name] || 100)) err = this.w.t('tooLong', { n: LIMITS[name] || 100 });
      this.markField(name, err);
      if (err && !first) first = input;
      if (v) values[name] = v;
    }
    if (first) first.focus();
    return first ? null : values;
  }

  markField(name, err) {
    const input = this.E.forms.querySelector(`[name=${name}]`);
    if (!input) return false;
    input.setAttribute('aria-invalid', err ? 'true' : 'false');
    this.E.forms.querySelector(`#respa-f-${name}-error`).textContent = err;
    return true;
  }

  submitForm(form, kind, rules) {
    const values = this.check(form, rules);
    if (!values || this.down) return;
    this.draftForm = values;
    const topic = this.cfg.topics.find((t) => t.id === values.topic);
    const prechat = { name: values.name, email: values.email, topic: values.topic };
    this.session.set({ prechat, queue: topic ? topic.queue : this.cfg.queue });
    if (kind === 'offline') {
      this.sendLine(values.message, { offline: true });
      this.form = null;
      this.render();
      return;
    }
    if (topic) this.w.showState(...(this.states.get(topic.queue) || ['connecting', '']));
    this.render();
    this.E.input.focus();
  }

  newChat() {
    this.session.renew();
    window.respaWidgetState.token = this.session.token;
    this.draftForm = null;
    this.restore();
    this.hello();
    this.render();
    this.focus();
  }

  // --- sending -----------------------------------------------------------------------------
  visitorEl(first, offline) {
    const { Strophe } = this;
    const a = { xmlns: NS_VISITOR, session: this.session.token };
    if (this.cfg.visitorId) a.id = this.cfg.visitorId;
    const v = Strophe.xmlElement('visitor', a);
    const pre = this.session.record.prechat;
    if (first && pre) {
      for (const k of ['name', 'email', 'topic']) if (pre[k]) v.appendChild(Strophe.xmlElement(k, {}, pre[k]));
    }
    if (first && offline) v.appendChild(Strophe.xmlElement('offline', {}));
    return v;
  }

  sendTyped() {
    const body = this.E.input.value.trim();
    if (!body || this.down || !this.connected || this.phase === 'ended') return;
    if (body.length > LIMITS.message || CONTROL.test(body)) { this.say(this.w.t(CONTROL.test(body) ? 'badChars' : 'tooLong', { n: LIMITS.message })); return; }
    this.E.input.value = '';
    this.sendLine(body);
  }

  sendLine(body, { offline = false, url = null } = {}) {
    const { $msg } = this.env;
    const first = this.phase === 'new';
    const msgid = newToken(16);
    const st = $msg({ to: this.queue, type: 'chat', id: msgid }).c('body').t(body).up()
      .c('active', { xmlns: NS_STATES }).up();
    if (url) st.c('x', { xmlns: NS_OOB }).c('url').t(url).up().up();
    st.cnode(this.visitorEl(first, offline));
    this.pending.set(msgid, { body, first, offline, url });
    setTimeout(() => this.pending.delete(msgid), 60000);
    this.api.send(st.tree());
    this.composing = false;
    if (first) this.session.set({ phase: 'chat' });
    const item = { dir: 'out', kind: 'me', body, url, time: new Date().toISOString(), msgid };
    this.session.remember(item);
    this.addLine(item);
    this.say('');
    this.render();
  }

  typed() {
    if (this.down || this.phase === 'ended' || !this.connected) return;
    const send = (state) => this.api.send(this.env.$msg({ to: this.queue, type: 'chat' }).c(state, { xmlns: NS_STATES }).up()
      .cnode(this.visitorEl(false)).tree());
    if (!this.composing && this.E.input.value.trim() && this.phase === 'chat') { this.composing = true; send('composing'); }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => { if (this.composing) { this.composing = false; send('paused'); } }, 5000);
  }

  // a message respa did not take: its text goes back in the box (or the form's field is marked)
  bounced(stanza) {
    const id = stanza.getAttribute('id');
    const sent = this.pending.get(id);
    if (!sent) return false;
    this.pending.delete(id);
    const err = stanza.querySelector('error');
    const invalid = err && Array.from(err.children).find((e) => e.localName === 'invalid');
    const why = err ? text(err, 'text') : '';
    this.session.forget(id);
    this.E.log.querySelector(`[data-msgid="${id}"]`)?.remove();
    if (sent.first) this.session.set({ phase: 'new' });
    if (!sent.url && !this.E.input.value) this.E.input.value = sent.body;
    if (invalid) {
      // a pre-chat value respa refused: the form again, with respa's words by the field
      this.session.set({ prechat: null });
      this.draftForm = { ...this.draftForm, message: sent.body };
      this.E.forms.dataset.kind = '';
      this.render();
      const field = invalid.getAttribute('field');
      if (!this.markField(field, why)) this.say(why);
      this.E.forms.querySelector(`[name=${field}]`)?.focus();
    } else if (err && /service-unavailable|remote-server-not-found|recipient-unavailable|remote-server-timeout/.test(err.innerHTML)) {
      this.setQueueState(stanza.getAttribute('from'), ['unavailable', '']);
    } else {
      this.render();
      this.say(why || this.w.t('unavailableText'));
    }
    return true;
  }

  // --- files: XEP-0363 upload, the link to respa with XEP-0066 ------------------------------
  async discoverUpload() {
    const { $iq, Strophe } = this.env;
    const info = async (jid) => {
      const r = await this.api.sendIQ($iq({ type: 'get', to: jid }).c('query', { xmlns: Strophe.NS.DISCO_INFO }));
      if (!r.querySelector(`feature[var="${NS_UPLOAD}"]`)) return null;
      const max = Array.from(r.querySelectorAll('x field')).find((f) => f.getAttribute('var') === 'max-file-size');
      return { service: jid, max: max ? Number(text(max, 'value')) : null };
    };
    try {
      if (this.cfg.uploadService) return await info(this.cfg.uploadService);
      const domain = Strophe.getDomainFromJid(this.api.connection.get().jid);
      const items = await this.api.sendIQ($iq({ type: 'get', to: domain }).c('query', { xmlns: Strophe.NS.DISCO_ITEMS }));
      for (const item of items.querySelectorAll('item')) {
        const found = await info(item.getAttribute('jid')).catch(() => null);
        if (found) return found;
      }
    } catch (e) {
      console.info('respa widget: no upload service', e);
    }
    return null;
  }

  async sendFile(file) {
    const t = (k, v) => this.w.t(k, { name: file.name, ...v });
    if (!this.upload) { this.say(this.w.t('noUpload')); return; }
    if (this.upload.max && file.size > this.upload.max) { this.say(t('fileTooLarge', { max: humanSize(this.upload.max) })); return; }
    this.say(t('sendingFile'));
    try {
      const { $iq } = this.env;
      const slot = await this.api.sendIQ($iq({ type: 'get', to: this.upload.service })
        .c('request', { xmlns: NS_UPLOAD, filename: file.name, size: String(file.size), 'content-type': file.type || 'application/octet-stream' }));
      const put = slot.querySelector('put');
      const get = slot.querySelector('get')?.getAttribute('url');
      const headers = { 'Content-Type': file.type || 'application/octet-stream' };
      for (const h of put.querySelectorAll('header')) {
        if (/^(authorization|cookie|expires)$/i.test(h.getAttribute('name'))) headers[h.getAttribute('name')] = h.textContent;
      }
      const res = await fetch(put.getAttribute('url'), { method: 'PUT', body: file, headers });
      if (!res.ok) throw new Error(`PUT ${res.status}`);
      this.sendLine(get, { url: get });
    } catch (e) {
      console.warn('respa widget: upload failed', e);
      const tooBig = e && e.querySelector && e.querySelector('file-too-large');
      this.say(tooBig ? t('fileTooLarge', { max: humanSize(Number(text(tooBig, 'max-file-size')) || this.upload.max || 0) }) : t('fileFailed'));
    }
  }

  // --- receiving ----------------------------------------------------------------------------
  onMessage(st) {
    if (!this.isQueue(st.getAttribute('from'))) return;
    const lang = st.getAttribute('xml:lang');
    if (lang) this.w.setLanguage(lang);
    if (st.getAttribute('type') === 'error') { this.bounced(st); return; }
    const body = text(st, 'body');
    const stateEl = Array.from(st.children).find((e) => e.namespaceURI === NS_STATES || e.getAttribute('xmlns') === NS_STATES);
    if (stateEl) this.E.typing.textContent = stateEl.localName === 'composing' && !body ? `${this.lastNick || this.w.t('agentName')} ${this.w.t('typing')}` : '';
    if (!body) return;
    const ended = child(st, 'ended', NS_WIDGET);
    const nick = text(st, 'nick', NS_NICK);
    const kind = ended ? 'ended' : child(st, 'notice', NS_WIDGET) ? 'notice' : 'agent';
    if (nick) this.lastNick = nick;
    const oob = child(st, 'x', NS_OOB);
    const item = { dir: 'in', kind, body, nick: nick || null, url: oob ? text(oob, 'url') : null,
      time: new Date().toISOString(), msgid: st.getAttribute('id') || newToken(12) };
    const replaces = child(st, 'replace', 'urn:xmpp:message-correct:0');
    if (replaces) item.replaces = replaces.getAttribute('id');
    this.session.remember(item);
    this.addLine(item);
    const rating = child(st, 'rating', NS_WIDGET);
    const question = child(st, 'question', NS_WIDGET);
    const max = rating ? Number(rating.getAttribute('max')) : 0;
    const ask = rating && Number.isInteger(max) && max >= 2 && max <= 10 ? { kind: 'rating', max }
      : question && question.getAttribute('kind') === 'transcript' ? { kind: 'transcript' } : null;
    if (ask) {
      this.session.update((rec) => {
        rec.asks = (Array.isArray(rec.asks) ? rec.asks : []).filter((a) => a.kind !== ask.kind);
        rec.asks.push({ ...ask, msgid: item.msgid, time: Date.now() });
      });
      this.renderAsks();
    }
    if (ended) {
      this.session.set({ phase: 'ended' });
      this.E.typing.textContent = '';
      this.render();
    }
    this.w.notify();
  }

  setQueueState(from, shown) {
    const q = this.Strophe.getBareJidFromJid(from).toLowerCase();
    this.states.set(q, shown);
    if (q === this.queue) this.w.showState(...shown);
    clearTimeout(this.retry);
    // respa stopped or is not connected (Prosody answers an error): ask again later, so the
    // widget comes back by itself when respa does
    if ([...this.states.values()].some((s) => s[0] === 'unavailable')) this.retry = setTimeout(() => this.hello(), this.cfg.retrySeconds * 1000);
    window.respaWidgetState.queue = this.states.get(this.queue) || null;
    this.render();
  }

  hello() {
    if (!this.connected) return;
    const { $pres } = this.env;
    for (const q of this.queues) this.api.send($pres({ to: q }).cnode(this.visitorEl(false)).tree());
  }

  // --- Converse -------------------------------------------------------------------------------
  async start() {
    const mod = await import(this.cfg.headless);
    const converse = mod.converse || mod.default;
    this.env = converse.env;
    this.Strophe = converse.env.Strophe;
    const chat = this;
    converse.plugins.add('respa-widget', {
      initialize() {
        const { api } = this._converse;
        chat.api = api;
        const announce = async () => {
          const conn = api.connection.get();
          chat.connected = true;
          chat.started = true;
          window.respaWidgetState.jid = conn.jid;
          if (chat.handlers) chat.handlers.forEach((h) => conn.deleteHandler(h));
          chat.handlers = [
            conn.addHandler((p) => {
              if (chat.isQueue(p.getAttribute('from'))) {
                const lang = p.getAttribute('xml:lang');
                if (lang) chat.w.setLanguage(lang);
                const shown = queueState(p);
                if (shown) chat.setQueueState(p.getAttribute('from'), shown);
              }
              return true;
            }, null, 'presence'),
            conn.addHandler((m) => { try { chat.onMessage(m); } catch (e) { console.error(e); } return true; }, null, 'message'),
          ];
          // directed presence: respa learns (again) where this visitor is and answers with the
          // queue's state; Prosody sends the queue `unavailable` when this session ends
          chat.hello();
          chat.render();
          if (chat.upload === undefined) {
            chat.upload = await chat.discoverUpload();
            window.respaWidgetState.upload = chat.upload;
            chat.render();
          }
        };
        api.listen.on('connected', announce);
        api.listen.on('reconnected', announce);
        const lost = () => {
          chat.connected = false;
          clearTimeout(chat.retry);
          chat.w.showState('unavailable');
          chat.render();
        };
        api.listen.on('will-reconnect', lost);
        api.listen.on('disconnected', lost);
      },
    });
    const transport = await pickTransport(this.cfg);
    window.respaWidgetState.transport = transport.websocket_url ? 'websocket' : 'bosh';
    await converse.initialize({
      authentication: 'anonymous',
      jid: this.cfg.anonymousDomain,
      auto_login: true,
      ...transport,
      discover_connection_methods: false,
      whitelisted_plugins: ['respa-widget'],
      blacklisted_plugins: [],
      persistent_store: 'sessionStorage',
      clear_cache_on_logout: true,
      auto_reconnect: true,
      allow_non_roster_messaging: true,
      send_chat_state_notifications: false,
      loglevel: 'warn',
      i18n: 'en',
      assets_path: new URL('.', this.cfg.headless).href,
    });
    window.respaWidgetState.ready = performance.now();
  }
}
