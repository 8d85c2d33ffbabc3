// The certificate and key a listener serves: its own files, or the dev certificate.

import { readFile } from 'node:fs/promises';
import type { TlsCredentials } from '../runtime/types.ts';
import type { Logger } from '../log.ts';
import { listenerVerifyMode, type VerifyMode } from '../config/listen.ts';
import { ensureDevCertificate } from './devcert.ts';

export interface ListenerTlsFiles {
  readonly certfile?: string;
  readonly keyfile?: string;
  readonly cafile?: string;
  readonly verify_peer?: boolean;
  readonly verify_mode?: VerifyMode;
}

export async function listenerTlsCredentials(
  listener: ListenerTlsFiles,
  general: { readonly data_dir: string; readonly hosts: readonly string[] },
  log?: Logger,
): Promise<TlsCredentials> {
  let cert: string;
  let key: string;
  if (listener.certfile !== undefined && listener.keyfile !== undefined) {
    [cert, key] = await Promise.all([readFile(listener.certfile, 'utf8'), readFile(listener.keyfile, 'utf8')]);
  } else {
    ({ cert, key } = await ensureDevCertificate(general.data_dir, general.hosts, log));
  }
  const credentials: TlsCredentials = { cert, key };
  if (listener.cafile !== undefined) credentials.ca = await readFile(listener.cafile, 'utf8');
  if (listenerVerifyMode(listener) !== 'none') credentials.requestCert = true;
  return credentials;
}
