"""A slixmpp client for the c2s end-to-end test: logs in over STARTTLS with a chosen SASL
mechanism, sends initial presence, messages a peer, answers every chat message with an
echo, and reports what happens as one JSON object per line on stdout.

Usage: slixmpp_client.py PORT CA_FILE JID PASSWORD PEER_JID MECHANISM
"""

import asyncio
import json
import sys

import slixmpp


def report(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class EchoClient(slixmpp.ClientXMPP):
    def __init__(self, jid, password, peer, mechanism):
        super().__init__(jid, password, sasl_mech=mechanism)
        self.peer = peer
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", lambda _: report("failed_auth"))
        self.add_event_handler("disconnected", lambda _: report("disconnected"))

    async def on_session_start(self, _event):
        self.send_presence()
        mech = getattr(self["feature_mechanisms"], "mech", None)
        report("session_start", jid=str(self.boundjid), mechanism=getattr(mech, "name", None), tls=self.transport.get_extra_info("ssl_object") is not None)
        self.send_message(mto=self.peer, mbody="hello from slixmpp", mtype="chat")

    def on_message(self, msg):
        if msg["type"] not in ("chat", "normal"):
            return
        body = msg["body"]
        report("message", frm=str(msg["from"]), body=body)
        if body.startswith("bye"):
            self.disconnect()
            return
        msg.reply("echo: " + body).send()


def main():
    port, ca_file, jid, password, peer, mechanism = sys.argv[1:7]
    client = EchoClient(jid, password, peer, mechanism)
    client.ca_certs = ca_file
    client.register_plugin("xep_0199")
    client.connect(("127.0.0.1", int(port)))
    loop = asyncio.get_event_loop()
    # Never outlive the test that started us.
    loop.call_later(20, lambda: (report("timeout"), client.disconnect()))
    client.loop.run_until_complete(client.disconnected)


if __name__ == "__main__":
    main()
