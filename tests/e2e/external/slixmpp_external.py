"""A slixmpp client that logs in with SASL EXTERNAL and a client certificate, then
reports one JSON object per line on stdout: session_start (bound JID, mechanism, the
TLS peer's certificate subject) or failed_auth (the SASL failure condition).

Usage: slixmpp_external.py PORT CA_FILE JID CERTFILE KEYFILE starttls|tls [AUTHZID]
"""

import asyncio
import json
import sys

import slixmpp


def report(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class CertificateClient(slixmpp.ClientXMPP):
    def __init__(self, jid, authzid):
        super().__init__(jid, "", sasl_mech="EXTERNAL")
        if authzid:
            self.credentials["authzid"] = authzid
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("failed_all_auth", lambda _: (report("failed_all_auth"), self.disconnect()))
        self.add_event_handler("disconnected", lambda _: report("disconnected"))

    async def on_session_start(self, _event):
        mech = getattr(self["feature_mechanisms"], "mech", None)
        report("session_start", jid=str(self.boundjid), mechanism=getattr(mech, "name", None))
        self.disconnect()

    def on_failed_auth(self, failure):
        condition = failure["condition"] if failure is not None and hasattr(failure, "keys") else None
        report("failed_auth", condition=condition)
        self.disconnect()


def main():
    port, ca_file, jid, certfile, keyfile, how = sys.argv[1:7]
    authzid = sys.argv[7] if len(sys.argv) > 7 else ""
    client = CertificateClient(jid, authzid)
    client.ca_certs = ca_file
    client.certfile = certfile
    client.keyfile = keyfile
    client.connect(("127.0.0.1", int(port)), use_ssl=(how == "tls"))
    # Never outlive the test that started us.
    asyncio.get_event_loop().call_later(20, lambda: (report("timeout"), client.disconnect()))
    client.loop.run_until_complete(client.disconnected)


if __name__ == "__main__":
    main()
