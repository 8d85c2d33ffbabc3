// A per-installation secret, kept under data_dir: fake SCRAM salts for unknown users are
// derived from it, so they stay the same across restarts (a changing salt would tell a
// missing account apart).

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const SECRET_FILE = 'server-secret';

export async function loadServerSecret(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, SECRET_FILE);
  try {
    const text = (await readFile(path, 'utf8')).trim();
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length >= 32) return new Uint8Array(bytes);
  } catch {
    // first start: create it below
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32);
  await writeFile(path, secret.toString('base64') + '\n', { mode: 0o600 });
  await chmod(path, 0o600);
  return new Uint8Array(secret);
}
