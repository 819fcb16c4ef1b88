// The respa chat widget's settings: the one place to change them (README, "Web widget").
//
// A page can override any of them for itself by setting `window.respaWidget = {...}` before
// it loads respa-widget.js (a site passes its stable visitor id that way: `visitorId`).
// URLs left at null are worked out from the address respa-widget.js itself was loaded from,
// so a widget served by the XMPP server's own http (as the demo does) needs none of them.

export default {
  // --- where to connect -------------------------------------------------------------------
  // The XMPP server's WebSocket endpoint (XEP-0156 / RFC 7395), e.g.
  // 'wss://chat.example.com/xmpp-websocket'. null: /xmpp-websocket beside this file.
  websocketUrl: null,
  // Its BOSH endpoint (XEP-0124/0206), the fallback when a WebSocket cannot be opened (some
  // proxies block them), e.g. 'https://chat.example.com/http-bind'. null: /http-bind beside
  // this file.
  boshUrl: null,
  // 'auto': WebSocket, else BOSH; 'websocket' or 'bosh' to use only that one.
  transport: 'auto',
  // How long to wait for the WebSocket to open before falling back to BOSH (ms).
  websocketTimeout: 4000,
  // While respa cannot be reached, ask the queue for its state again this often (seconds).
  retrySeconds: 15,
  // The server's host for anonymous logins (Prosody: authentication = "anonymous").
  anonymousDomain: 'guest.localhost',
  // The queue the visitor writes to: QUEUE@COMPONENT of respa's configuration.
  queue: 'support@support.localhost',
  // @converse/headless (Converse.js's XMPP core, from npm), relative to respa-widget.js or
  // absolute. Loaded once the page is idle (or on open: `load`), never before.
  headless: 'node_modules/@converse/headless/dist/converse-headless.min.js',
  // When to load it and connect: 'idle' (once the page is idle, so the launcher shows the
  // queue's state) or 'open' (only when the visitor opens the chat). A visitor in a chat
  // (a reload) connects at once either way.
  load: 'idle',
  // Topics, for the pre-chat form: each picks the queue the chat goes to. An id is what respa
  // gets (its queue's `topics` lists it: [A-Za-z0-9_-], at most 64), a label what the visitor
  // sees. e.g. [{ id: 'billing', label: 'Billing', queue: 'billing@support.example.com' }]
  topics: [],
  // The pre-chat form, before the first message: each of name, email, topic is 'required',
  // 'optional' or 'off'. All 'off': no form.
  prechat: { name: 'off', email: 'off', topic: 'off' },
  // When the queue is closed, a form (name, email, message) instead of the chat box.
  offlineForm: true,
  // XEP-0363 upload service; null: found on the server (disco), as Prosody's
  // mod_http_file_share. Its size limit is the server's.
  uploadService: null,

  // --- who the visitor is ---------------------------------------------------------------
  // A visitor who comes back (reload, another page of the site) within this many minutes of
  // their last activity continues the same conversation with the same agent.
  sessionMinutes: 10,
  // The site's own stable id of the visitor (a customer number, a hash of the account id):
  // respa links every conversation with it to one contact, so agents see the history.
  // At most 128 characters. null for visitors the site does not know. Never a secret.
  visitorId: null,

  // --- where and how it shows -------------------------------------------------------------
  // The element the widget goes in (a CSS selector); made at the end of <body> if missing.
  // The launcher and the window float over the page in a corner: 'bottom-right' or
  // 'bottom-left'.
  container: '#respa-chat',
  position: 'bottom-right',
  // The widget's language: 'en' or 'fi' (web/widget-texts.js). null: the page's <html lang>
  // until respa answers, then the queue's `language` (respa's xml:lang).
  language: null,
  // Change any of the widget's texts (widget-texts.js), for every language: { title: '...' },
  // or for one: texts_fi: { title: '...' }.
  texts: {},
  // A short sound when a reply comes while the chat is minimised or the tab hidden.
  sound: false,
  // Text on them keeps a contrast of 4.5:1 or more (WCAG 2.1 AA) with the defaults.
  colours: {
    accent: '#0b5cd5',       // header, launcher, the visitor's own messages, buttons
    accentText: '#ffffff',   // text on the accent colour
    open: '#2da44e',         // the status dot: an agent is free
    busy: '#d29922',         // open, everyone busy
    closed: '#8c959f',       // out of hours
    unavailable: '#cf222e',  // the server or respa cannot be reached
  },
  // The open window on a wide screen; at 480 px wide or less it fills the screen.
  width: '380px',
  height: '560px',
};
