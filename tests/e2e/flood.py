"""A customer flooding respa, in a process of its own so that its sending never stalls the
test's event loop (which times a bystander's messages).

    flood.py HOST PORT JID PASSWORD TO MODE COUNT SECONDS

JID "guest.localhost" with an empty PASSWORD logs in anonymously. MODE "opens": each message
carries a new widget session token (each would open a conversation); "messages": plain
messages into one conversation. Sends COUNT messages as fast as slixmpp can, or for SECONDS,
whichever ends first; prints "flooding" once logged in, then one JSON line: sent, errors
(by condition), seconds.
"""
import asyncio
import json
import secrets
import sys
import time
from collections import Counter

import slixmpp
from slixmpp.xmlstream import ET

NS_VISITOR = "urn:respa:visitor:0"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


class Flooder(slixmpp.ClientXMPP):
    def __init__(self, jid, password, address):
        super().__init__(jid, password)
        self.address = address
        self.errors = Counter()
        self.started = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("message_error", self._error)

    async def get_dns_records(self, domain, port=None):
        return [(domain, self.address[0], self.address[1])]

    def _started(self, _):
        self.send_presence()
        if not self.started.done():
            self.started.set_result(True)

    def _error(self, m):
        err = m.xml.find("{%s}error" % m.namespace)
        cond = "?"
        for child in err if err is not None else []:
            if child.tag.startswith("{%s}" % NS_STANZAS) and not child.tag.endswith("}text"):
                cond = child.tag.split("}", 1)[1]
        self.errors[cond] += 1


async def main():
    host, port, jid, password, to, mode, count, seconds = sys.argv[1:9]
    count, seconds = int(count), float(seconds)
    x = Flooder(jid, password or None, (host, int(port)))
    x.connect(address=(host, int(port)), use_ssl=False, force_starttls=False,
              disable_starttls=True)
    await asyncio.wait_for(x.started, 10)
    print("flooding", x.boundjid.full, flush=True)
    start = time.monotonic()
    sent = 0
    while sent < count and time.monotonic() - start < seconds:
        m = x.make_message(mto=to, mbody=f"flood {sent}", mtype="chat")
        if mode == "opens":
            m.append(ET.Element(f"{{{NS_VISITOR}}}visitor",
                                {"session": secrets.token_urlsafe(18)}))
        m.send()
        sent += 1
        if sent % 50 == 0:
            await asyncio.sleep(0)   # let slixmpp write what is queued
    took = time.monotonic() - start
    # the answers to the last ones: until they stop coming
    last, quiet = sum(x.errors.values()), 0
    while quiet < 10 and time.monotonic() - start < seconds + 20:
        await asyncio.sleep(0.2)
        now = sum(x.errors.values())
        quiet = quiet + 1 if now == last else 0
        last = now
    print(json.dumps({"sent": sent, "errors": dict(x.errors), "seconds": took}), flush=True)
    x.disconnect()
    await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main())
