"""A slixmpp client for the archive end-to-end test: logs in, pages through its archive with
XEP-0313 (xep_0313.iterate, RSM pages of 2) filtered on a contact, and reports every
archived message (body, archive id, from) as JSON lines on stdout, then disconnects.

Usage: slixmpp_mam.py PORT CA_FILE JID PASSWORD WITH_JID
"""

import asyncio
import json
import sys

import slixmpp


def report(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class MamClient(slixmpp.ClientXMPP):
    def __init__(self, jid, password, with_jid):
        super().__init__(jid, password)
        self.with_jid = with_jid
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0059")
        self.register_plugin("xep_0313")
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("failed_auth", lambda _: report("failed_auth"))
        self.add_event_handler("disconnected", lambda _: report("disconnected"))

    async def on_session_start(self, _event):
        self.send_presence()
        info = await self["xep_0030"].get_info(jid=self.boundjid.bare)
        report("features", features=sorted(info["disco_info"]["features"]))
        found = []
        async for msg in self["xep_0313"].iterate(with_jid=slixmpp.JID(self.with_jid), rsm={"max": 2}):
            forwarded = msg["mam_result"]["forwarded"]
            inner = forwarded["stanza"]
            found.append({"id": msg["mam_result"]["id"], "body": inner["body"], "from": str(inner["from"]), "stamp": str(forwarded["delay"]["stamp"])})
        report("archive", messages=found)
        self.disconnect()


def main():
    port, ca_file, jid, password, with_jid = sys.argv[1:6]
    client = MamClient(jid, password, with_jid)
    client.ca_certs = ca_file
    client.connect(("127.0.0.1", int(port)))
    loop = asyncio.get_event_loop()
    # Never outlive the test that started us.
    loop.call_later(20, lambda: (report("timeout"), client.disconnect()))
    client.loop.run_until_complete(client.disconnected)


if __name__ == "__main__":
    main()
