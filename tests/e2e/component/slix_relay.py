# A slixmpp ComponentXMPP for the end-to-end tests: answers disco#info with an identity and
# relays "to user@<component>" chat messages to user@localhost. Prints READY once the
# handshake succeeded, and exits when the server closes the stream.
# Usage: slix_relay.py <component-jid> <secret> <port>

import sys

from slixmpp.componentxmpp import ComponentXMPP


class Relay(ComponentXMPP):
    def __init__(self, jid, secret, port):
        super().__init__(jid, secret, '127.0.0.1', port)
        self.register_plugin('xep_0030')
        self['xep_0030'].add_identity(category='gateway', itype='xmpp', name='Slix relay', jid=self.boundjid)
        self.add_event_handler('session_start', self.on_start)
        self.add_event_handler('message', self.on_message)
        self.add_event_handler('disconnected', lambda _: self.loop.stop())

    async def _pick_dns_answer(self, domain, port=None):
        # The server is on loopback: connect to the given address, no DNS look-up (a
        # machine without a resolver would make every start wait for its timeout).
        return None

    def on_start(self, _event):
        print('READY', flush=True)

    def on_message(self, msg):
        if msg['type'] not in ('chat', 'normal') or not msg['to'].user:
            return
        self.send_message(
            mto='%s@localhost' % msg['to'].user,
            mfrom='%s@%s' % (msg['from'].user, self.boundjid.domain),
            mbody='%s says: %s' % (msg['from'].user, msg['body']),
            mtype='chat',
        )


if __name__ == '__main__':
    import logging
    import os
    if os.environ.get('SLIX_DEBUG'):
        logging.basicConfig(level=logging.DEBUG, filename=os.environ['SLIX_DEBUG'] + '.' + sys.argv[1])
    jid, secret, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    relay = Relay(jid, secret, port)
    relay.connect()
    relay.loop.run_forever()
