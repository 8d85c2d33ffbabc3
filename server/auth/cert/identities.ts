// The identities a client certificate asserts for XEP-0178: the id-on-xmppAddr values of
// its subjectAltName (RFC 6120 §13.7.1.4, an otherName holding a UTF8String) and the
// subject's common name.

// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import { DirectoryString, SubjectAlternativeName, id_ce_subjectAltName } from '@peculiar/asn1-x509';
import type { X509Certificate } from '@peculiar/x509';

/** id-on-xmppAddr (RFC 6120 §13.7.1.4). */
export const ID_ON_XMPP_ADDR = '1.3.6.1.5.5.7.8.5';

export interface CertificateIdentities {
  /** Every id-on-xmppAddr value, as written in the certificate. */
  readonly xmppAddrs: readonly string[];
  /** The subject's CN, when there is exactly one. */
  readonly commonName: string | undefined;
}

/** Throws when the subjectAltName extension is malformed (the certificate is then refused). */
export function certificateIdentities(cert: X509Certificate): CertificateIdentities {
  const xmppAddrs: string[] = [];
  for (const ext of cert.extensions) {
    if (ext.type !== id_ce_subjectAltName) continue;
    const names = AsnConvert.parse(ext.value, SubjectAlternativeName);
    for (const name of names) {
      const other = name.otherName;
      if (other === undefined || other.typeId !== ID_ON_XMPP_ADDR) continue;
      // The value is a UTF8String; a name written in another string type is not an xmppAddr.
      const value = AsnConvert.parse(other.value, DirectoryString).utf8String;
      if (value === undefined) throw new Error('id-on-xmppAddr is not a UTF8String');
      xmppAddrs.push(value);
    }
  }
  const cns = cert.subjectName.getField('CN');
  return { xmppAddrs, commonName: cns.length === 1 ? cns[0] : undefined };
}
