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
  // Converse.js's dist/ folder (from npm: web/node_modules/converse.js/dist/), relative to
  // respa-widget.js or absolute.
  converseDist: 'node_modules/converse.js/dist/',

  // --- who the visitor is ---------------------------------------------------------------
  // A visitor who comes back (reload, another page of the site) within this many minutes of
  // their last activity continues the same conversation with the same agent.
  sessionMinutes: 10,
  // The site's own stable id of the visitor (a customer number, a hash of the account id):
  // respa links every conversation with it to one contact, so agents see the history.
  // At most 128 characters. null for visitors the site does not know. Never a secret.
  visitorId: null,

  // --- where and how it shows -------------------------------------------------------------
  // The element the widget fills (a CSS selector); created at the end of <body> if missing.
  container: '#respa-chat',
  language: 'en',
  texts: {
    title: 'Chat with us',
    agentName: 'Support',    // the author shown on the queue's and agents' lines
    you: 'You',              // the author shown on the visitor's own lines
    connecting: 'Connecting…',
    open: 'Online',
    busy: 'Busy',
    closed: 'Closed',
    unavailable: 'Chat unavailable',
    unavailableText: 'The chat service cannot be reached right now.',
  },
  colours: {
    accent: '#1f6feb',       // header, the visitor's own messages, buttons
    accentText: '#ffffff',   // text on the accent colour
    open: '#2da44e',         // the status dot: an agent is free
    busy: '#d29922',         // open, everyone busy
    closed: '#8c959f',       // out of hours
    unavailable: '#cf222e',  // the server or respa cannot be reached
  },
  width: '380px',
  height: '560px',
};
