// respa's chat widget: a launcher in a corner of the page, and a chat window with one queue of
// respa. This file is all the page loads at first (with widget-config.js and widget-texts.js):
// the launcher and the window's frame. The chat itself (respa-chat.js, on @converse/headless,
// Converse.js's XMPP core from npm) loads once the page is idle or when the visitor opens the
// window (`load` in widget-config.js). README, "Web widget".
//
// Embed it with one script (and optionally one element, and settings):
//   <script>window.respaWidget = { visitorId: "c-1234" };</script>   <!-- optional -->
//   <script type="module" src="https://chat.example.com/respa-widget.js"></script>
import defaults from './widget-config.js';
import TEXTS from './widget-texts.js';

const UI_KEY = 'respa-widget:ui';   // { open } across reloads and pages of the site
const PHONE = '(max-width: 480px)';

function resolveSettings() {
  const over = window.respaWidget || {};
  const cfg = { ...defaults, ...over };
  for (const k of ['colours', 'prechat']) cfg[k] = { ...defaults[k], ...over[k] };
  const base = new URL('.', import.meta.url);
  const ws = new URL('/xmpp-websocket', base);
  ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
  cfg.websocketUrl = cfg.websocketUrl || ws.href;
  cfg.boshUrl = cfg.boshUrl || new URL('/http-bind', base).href;
  cfg.headless = new URL(cfg.headless, base).href;
  cfg.chatModule = new URL('respa-chat.js', import.meta.url).href;
  cfg.queue = String(cfg.queue).toLowerCase();
  cfg.topics = (Array.isArray(cfg.topics) ? cfg.topics : []).filter((t) => t && t.id && t.queue)
    .map((t) => ({ id: String(t.id), label: String(t.label || t.id), queue: String(t.queue).toLowerCase() }));
  const v = cfg.visitorId;
  cfg.visitorId = null;
  if (v !== null && v !== undefined && v !== '') {
    // XML 1.0 forbids most control characters; respa takes at most 128 characters
    if (String(v).length > 128 || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(String(v))) {
      console.warn('respa widget: visitorId ignored (over 128 characters or control characters)');
    } else {
      cfg.visitorId = String(v);
    }
  }
  return cfg;
}

function pickLanguage(lang) {
  const l = String(lang || '').toLowerCase().slice(0, 2);
  return TEXTS[l] ? l : 'en';
}

function css(cfg) {
  const c = cfg.colours;
  const side = cfg.position === 'bottom-left' ? 'left' : 'right';
  return `
.respa-root { all: initial; }
.respa-root, .respa-root * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
.respa-launcher { position: fixed; bottom: 20px; ${side}: 20px; z-index: 2147483000;
  display: flex; align-items: center; gap: 8px; min-height: 48px; padding: 10px 18px;
  border: 0; border-radius: 24px; background: ${c.accent}; color: ${c.accentText};
  font-size: 16px; font-weight: 600; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
.respa-launcher:focus-visible, .respa-window button:focus-visible, .respa-window input:focus-visible,
.respa-window textarea:focus-visible, .respa-window select:focus-visible, .respa-window a:focus-visible {
  outline: 3px solid #1f2328; outline-offset: 2px; box-shadow: 0 0 0 5px #fff; }
.respa-header button:focus-visible { outline-color: #fff; box-shadow: 0 0 0 5px #1f2328; }
.respa-launcher[hidden], .respa-window[hidden], .respa-window [hidden] { display: none !important; }
.respa-dot { width: 10px; height: 10px; border-radius: 50%; flex: none; background: ${c.closed};
  box-shadow: 0 0 0 2px rgba(255,255,255,.8); }
[data-state=open] .respa-dot { background: ${c.open}; }
[data-state=busy] .respa-dot { background: ${c.busy}; }
[data-state=unavailable] .respa-dot { background: ${c.unavailable}; }
.respa-badge { min-width: 22px; height: 22px; padding: 0 6px; border-radius: 11px; background: #b3261e;
  color: #fff; font-size: 13px; line-height: 22px; text-align: center; }
.respa-window { position: fixed; bottom: 20px; ${side}: 20px; z-index: 2147483001;
  width: ${cfg.width}; height: ${cfg.height}; max-height: calc(100vh - 40px); max-width: calc(100vw - 40px);
  display: flex; flex-direction: column; overflow: hidden; background: #fff; color: #1f2328;
  border: 1px solid #d0d7de; border-radius: 12px; box-shadow: 0 8px 28px rgba(0,0,0,.28); font-size: 15px; }
.respa-header { display: flex; align-items: flex-start; gap: 8px; background: ${c.accent}; color: ${c.accentText};
  padding: 10px 10px 10px 14px; flex: none; }
.respa-heading { flex: 1; min-width: 0; }
.respa-title { font-weight: 600; font-size: 16px; margin: 0; }
.respa-status { display: flex; align-items: center; gap: 6px; font-size: 14px; margin-top: 4px; }
.respa-state { font-weight: 600; }
.respa-status-text { font-size: 13px; margin-top: 2px; overflow-wrap: anywhere; }
.respa-status-text:empty { display: none; }
.respa-min { flex: none; width: 40px; height: 40px; border: 0; border-radius: 8px; background: transparent;
  color: inherit; font-size: 22px; line-height: 1; cursor: pointer; }
.respa-min:hover { background: rgba(255,255,255,.18); }
.respa-log { flex: 1 1 0; min-height: 80px; overflow-y: auto; overflow-x: hidden; padding: 12px; display: flex;
  flex-direction: column; gap: 8px; background: #fff; }
.respa-msg { max-width: 85%; padding: 8px 11px; border-radius: 12px; overflow-wrap: anywhere; white-space: pre-wrap; }
.respa-msg.them { align-self: flex-start; background: #eef1f4; color: #1f2328; }
.respa-msg.me { align-self: flex-end; background: ${c.accent}; color: ${c.accentText}; }
.respa-msg.me a { color: inherit; }
.respa-action { font-style: italic; }
.respa-msg.notice { align-self: stretch; max-width: none; background: #fff8e1; color: #3d2e00;
  border-left: 4px solid #9a6700; border-radius: 6px; font-size: 14px; }
.respa-msg.ended { background: #f0f3f6; color: #1f2328; border-left-color: #57606a; font-weight: 600; }
.respa-who { display: block; font-size: 12px; font-weight: 600; margin-bottom: 2px; color: #424a53; }
.respa-msg.me .respa-who { color: inherit; }
.respa-msg img { display: block; max-width: 100%; max-height: 220px; border-radius: 6px; margin-top: 4px; }
.respa-typing { font-size: 13px; color: #57606a; padding: 0 12px 4px; min-height: 1.2em; }
.respa-notice-bar { flex: none; padding: 8px 12px; font-size: 14px; background: #fff1f0; color: #82071e;
  border-top: 1px solid #ffcecb; }
.respa-notice-bar:empty { display: none; }
.respa-composer { flex: none; display: flex; align-items: flex-end; gap: 6px; padding: 8px; border-top: 1px solid #d0d7de; background: #fff; }
.respa-input { flex: 1; min-width: 0; min-height: 44px; max-height: 120px; resize: none; padding: 10px;
  border: 1px solid #6e7781; border-radius: 8px; font-size: 16px; color: #1f2328; background: #fff; }
.respa-input::placeholder { color: #57606a; }
.respa-input:disabled { background: #f6f8fa; }
.respa-icon, .respa-send, .respa-button { flex: none; min-height: 44px; border-radius: 8px; font-size: 15px; cursor: pointer; }
.respa-icon { width: 44px; border: 1px solid #6e7781; background: #fff; color: #1f2328; display: flex; align-items: center; justify-content: center; }
.respa-send, .respa-button { border: 0; padding: 0 14px; background: ${c.accent}; color: ${c.accentText}; font-weight: 600; }
.respa-window button:disabled { opacity: .55; cursor: not-allowed; }
.respa-forms { flex: 0 1 auto; min-height: 0; overflow-y: auto; }
.respa-form { display: flex; flex-direction: column; gap: 6px; padding: 10px 12px 12px; border-top: 1px solid #d0d7de; }
.respa-form p { margin: 0 0 4px; font-size: 14px; }
.respa-form label { font-size: 14px; font-weight: 600; }
.respa-form input, .respa-form select, .respa-form textarea { width: 100%; min-height: 40px; padding: 8px;
  border: 1px solid #6e7781; border-radius: 6px; font-size: 16px; color: #1f2328; background: #fff; }
.respa-form [aria-invalid=true] { border-color: #b3261e; border-width: 2px; }
.respa-error { color: #b3261e; font-size: 13px; margin: 0; }
.respa-error:empty { display: none; }
.respa-asks { flex: none; display: flex; flex-direction: column; gap: 10px; padding: 10px 12px; border-top: 1px solid #d0d7de; }
.respa-asks:empty { display: none; }
.respa-ask-label { margin: 0 0 6px; font-size: 14px; font-weight: 600; color: #1f2328; }
.respa-choices { display: flex; gap: 6px; flex-wrap: wrap; }
.respa-choice { flex: 1 1 0; min-width: 44px; min-height: 44px; border: 1px solid #57606a; border-radius: 8px;
  background: #fff; color: #1f2328; font-size: 16px; font-weight: 600; cursor: pointer; }
.respa-choice:hover { background: #eef1f4; }
.respa-ended-bar { flex: none; padding: 10px 12px; border-top: 1px solid #d0d7de; display: flex; }
.respa-ended-bar .respa-button { flex: 1; }
.respa-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media ${PHONE} {
  .respa-window { top: 0; left: 0; right: 0; bottom: auto; width: 100%; height: 100%; max-width: none;
    max-height: none; border: 0; border-radius: 0; }
  .respa-launcher { bottom: 12px; ${side}: 12px; }
}
html.respa-phone-open, html.respa-phone-open body { overflow: hidden !important; }
`;
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

class Widget {
  constructor(cfg) {
    this.cfg = cfg;
    this.lang = pickLanguage(cfg.language || document.documentElement.lang);
    this.unread = 0;
    this.pageTitle = document.title;
    this.state = ['connecting', ''];
    this.chat = null;        // respa-chat.js's Chat, once loaded
    this.loading = null;
    this.build();
    this.applyTexts();
    const remembered = this.readUi();
    this.setOpen(!!remembered.open, false);
    if (remembered.open || this.hasSession() || cfg.load !== 'open') this.scheduleLoad(remembered.open || this.hasSession());
  }

  t(key, vars = {}) {
    const own = this.cfg[`texts_${this.lang}`] || {};
    let s = own[key] ?? this.cfg.texts[key] ?? TEXTS[this.lang][key] ?? TEXTS.en[key] ?? key;
    for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
    return s;
  }

  setLanguage(lang) {
    if (this.cfg.language) return;   // the site chose one
    const l = pickLanguage(lang);
    if (l === this.lang) return;
    this.lang = l;
    this.applyTexts();
    this.chat?.applyTexts();
  }

  readUi() {
    try { return JSON.parse(localStorage.getItem(UI_KEY) || '{}') || {}; } catch (e) { return {}; }
  }

  writeUi(change) {
    try { localStorage.setItem(UI_KEY, JSON.stringify({ ...this.readUi(), ...change })); } catch (e) { /* private mode */ }
  }

  hasSession() {
    // a chat going on (a reload, another page): connect at once to get its replies
    try {
      const rec = JSON.parse(localStorage.getItem(`respa-widget:${this.cfg.queue}`) || 'null');
      return !!(rec && rec.history && rec.history.length && Date.now() - rec.lastActive < this.cfg.sessionMinutes * 60000);
    } catch (e) { return false; }
  }

  build() {
    const style = el('style', { id: 'respa-widget-style' });
    style.textContent = css(this.cfg);
    document.head.appendChild(style);
    let host = document.querySelector(this.cfg.container);
    if (!host) {
      host = el('div', { id: this.cfg.container.startsWith('#') ? this.cfg.container.slice(1) : 'respa-chat' });
      document.body.appendChild(host);
    }
    const ids = (n) => `respa-${n}`;
    this.els = {};
    const E = this.els;
    E.launcher = el('button', { type: 'button', class: 'respa-launcher', 'aria-controls': ids('window'),
      'aria-expanded': 'false', 'data-state': 'connecting' },
    el('span', { class: 'respa-dot', 'aria-hidden': 'true' }), E.launcherLabel = el('span', { class: 'respa-launcher-label' }),
    E.launcherState = el('span', { class: 'respa-sr' }), E.badge = el('span', { class: 'respa-badge', hidden: true }));
    E.title = el('h2', { class: 'respa-title', id: ids('title') });
    E.stateLabel = el('span', { class: 'respa-state' });
    E.statusText = el('div', { class: 'respa-status-text' });
    E.min = el('button', { type: 'button', class: 'respa-min' }, el('span', { 'aria-hidden': 'true', text: '–' }));
    E.log = el('div', { class: 'respa-log', role: 'log', 'aria-live': 'polite', 'aria-labelledby': ids('title'), tabindex: '0' });
    E.typing = el('div', { class: 'respa-typing', 'aria-live': 'polite' });
    E.bar = el('div', { class: 'respa-notice-bar', role: 'status' });
    E.forms = el('div', { class: 'respa-forms' });
    E.input = el('textarea', { class: 'respa-input', id: ids('input'), rows: '1', maxlength: '4000' });
    E.inputLabel = el('label', { class: 'respa-sr', for: ids('input') });
    E.file = el('input', { type: 'file', class: 'respa-file', hidden: true, tabindex: '-1' });
    E.attach = el('button', { type: 'button', class: 'respa-icon respa-attach' });
    // a paperclip (no emoji font needed)
    E.attach.innerHTML = '<svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5"/></svg>';
    E.send = el('button', { type: 'submit', class: 'respa-send' });
    E.composer = el('form', { class: 'respa-composer', novalidate: true }, E.inputLabel, E.input, E.attach, E.file, E.send);
    E.newChat = el('button', { type: 'button', class: 'respa-button respa-new-chat' });
    E.ended = el('div', { class: 'respa-ended-bar', hidden: true }, E.newChat);
    E.asks = el('div', { class: 'respa-asks' });   // the end-of-chat questions' buttons (respa-chat.js)
    E.window = el('section', { class: 'respa-window', id: ids('window'), role: 'dialog', 'aria-labelledby': ids('title'),
      'data-state': 'connecting', hidden: true },
    el('div', { class: 'respa-header' },
      el('div', { class: 'respa-heading' }, E.title,
        el('div', { class: 'respa-status', role: 'status' }, el('span', { class: 'respa-dot', 'aria-hidden': 'true' }), E.stateLabel),
        E.statusText),
      E.min),
    E.log, E.typing, E.bar, E.forms, E.composer, E.asks, E.ended);
    this.root = el('div', { class: 'respa-root' }, E.launcher, E.window);
    host.appendChild(this.root);

    E.launcher.addEventListener('click', () => this.setOpen(true));
    E.min.addEventListener('click', () => this.setOpen(false));
    E.window.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') { ev.preventDefault(); this.setOpen(false); }
    });
    document.addEventListener('visibilitychange', () => { if (!document.hidden && this.open) this.clearUnread(); });
    matchMedia(PHONE).addEventListener('change', () => this.fitPhone());
    // the on-screen keyboard shrinks the visual viewport: keep the input above it
    window.visualViewport?.addEventListener('resize', () => this.fitPhone());
    window.visualViewport?.addEventListener('scroll', () => this.fitPhone());
  }

  applyTexts() {
    const E = this.els;
    E.launcherLabel.textContent = this.t('launcher');
    E.title.textContent = this.t('title');
    E.min.setAttribute('aria-label', this.t('minimise'));
    E.min.title = this.t('minimise');
    E.inputLabel.textContent = this.t('inputLabel');
    E.input.placeholder = this.t('placeholder');
    E.attach.setAttribute('aria-label', this.t('attach'));
    E.attach.title = this.t('attach');
    E.send.textContent = this.t('send');
    E.newChat.textContent = this.t('newChat');
    this.showState(...this.state);
    this.showUnread();
  }

  // the queue's state on the launcher and in the header: connecting/open/busy/closed/unavailable
  showState(state, text = '') {
    this.state = [state, text];
    if (state === 'unavailable' && !text) text = this.t('unavailableText');
    const label = this.t(state);
    this.els.window.dataset.state = state;
    this.els.launcher.dataset.state = state;
    this.els.stateLabel.textContent = label;
    this.els.statusText.textContent = text;
    this.els.launcherState.textContent = `: ${label}`;
  }

  get open() { return !this.els.window.hidden; }

  setOpen(open, remember = true) {
    const E = this.els;
    E.window.hidden = !open;
    E.launcher.hidden = open;
    E.launcher.setAttribute('aria-expanded', String(open));
    if (remember) this.writeUi({ open });
    this.fitPhone();
    if (open) {
      this.clearUnread();
      this.scheduleLoad(true);
      if (remember) this.chat ? this.chat.focus() : E.input.focus();
      this.chat?.scrollDown();
    } else if (remember) {
      E.launcher.focus();
    }
  }

  fitPhone() {
    const phone = matchMedia(PHONE).matches && this.open;
    document.documentElement.classList.toggle('respa-phone-open', phone);
    const w = this.els.window.style;
    const vv = window.visualViewport;
    if (phone && vv) {
      w.height = `${vv.height}px`;
      w.top = `${vv.offsetTop}px`;
    } else {
      w.height = '';
      w.top = '';
    }
  }

  // a reply while the window is minimised or the tab hidden
  notify() {
    if (this.open && !document.hidden) return;
    this.unread += 1;
    this.showUnread();
    if (this.cfg.sound) this.beep();
  }

  clearUnread() {
    if (!this.unread) return;
    this.unread = 0;
    this.showUnread();
  }

  showUnread() {
    const n = this.unread;
    this.els.badge.hidden = !n;
    this.els.badge.textContent = String(n);
    this.els.badge.setAttribute('aria-label', this.t('unreadLabel', { n }));
    document.title = n ? this.t('unread', { n, title: this.pageTitle }) : this.pageTitle;
  }

  beep() {
    try {
      const ctx = this.audio || (this.audio = new AudioContext());
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.3);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.3);
      window.respaWidgetState.beeps = (window.respaWidgetState.beeps || 0) + 1;
    } catch (e) { /* no audio: the badge and the title still tell */ }
  }

  // Converse and the chat: now (the visitor opened the window, or is in a chat) or once idle
  scheduleLoad(now) {
    if (this.loading) return;
    if (!now) {
      const idle = window.requestIdleCallback || ((f) => setTimeout(f, 1500));
      this.idle = this.idle || idle(() => this.scheduleLoad(true), { timeout: 4000 });
      return;
    }
    window.respaWidgetState.loadStarted = performance.now();
    this.loading = import(this.cfg.chatModule)
      .then(({ Chat }) => { this.chat = new Chat(this); return this.chat.start(); })
      .catch((e) => {
        console.error('respa widget: the chat did not load', e);
        this.showState('unavailable');
      });
  }
}

window.respaWidgetState = { loadStarted: null };   // what the widget knows (the site's scripts, tests)
const start = () => { window.respaWidgetState.widget = new Widget(resolveSettings()); };
if (document.body) start(); else addEventListener('DOMContentLoaded', start);
