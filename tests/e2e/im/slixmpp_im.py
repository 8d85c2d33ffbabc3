"""A slixmpp client for the IM end-to-end test: fetches the roster, sends initial presence,
asks the server for disco#info, accepts subscription requests and asks back (slixmpp's
auto_authorize/auto_subscribe), and reports roster pushes and presence as JSON lines on
stdout. A chat message "bye" makes it disconnect.

Usage: slixmpp_im.py PORT CA_FILE JID PASSWORD
"""

import asyncio
import json
import sys

import slixmpp


def report(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class ImClient(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.register_plugin("xep_0030")
        self.auto_authorize = True
        self.auto_subscribe = True
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("roster_update", self.on_roster_update)
        self.add_event_handler("presence_available", lambda p: report("available", frm=str(p["from"])))
        self.add_event_handler("presence_unavailable", lambda p: report("unavailable", frm=str(p["from"])))
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", lambda _: report("failed_auth"))
        self.add_event_handler("disconnected", lambda _: report("disconnected"))

    async def on_session_start(self, _event):
        await self.get_roster()
        self.send_presence()
        info = await self["xep_0030"].get_info(jid=self.boundjid.domain)
        disco = info["disco_info"]
        report("session_start", features=sorted(disco["features"]), identities=[list(i)[:2] for i in disco["identities"]])

    def on_roster_update(self, iq):
        for jid, item in iq["roster"]["items"].items():
            report("roster", jid=str(jid), subscription=item["subscription"], ask=item["ask"] or "")

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"] == "bye":
            self.disconnect()


def main():
    port, ca_file, jid, password = sys.argv[1:5]
    client = ImClient(jid, password)
    client.ca_certs = ca_file
    client.connect(("127.0.0.1", int(port)))
    loop = asyncio.get_event_loop()
    # Never outlive the test that started us.
    loop.call_later(20, lambda: (report("timeout"), client.disconnect()))
    client.loop.run_until_complete(client.disconnected)


if __name__ == "__main__":
    main()
