// A bearer token for meerkatctl on the same machine: written to <data_dir>/admin-token with
// mode 0600 when the admin listener starts (kept across restarts), read by meerkatctl from
// the same configuration. Whoever can read the data directory is already the server's owner.

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const LOCAL_TOKEN_FILE = 'admin-token';

export async function loadOrCreateLocalToken(dataDir: string): Promise<string> {
  const existing = await readLocalToken(dataDir);
  if (existing !== undefined) return existing;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  const path = join(dataDir, LOCAL_TOKEN_FILE);
  await writeFile(path, token + '\n', { mode: 0o600 });
  await chmod(path, 0o600);
  return token;
}

export async function readLocalToken(dataDir: string): Promise<string | undefined> {
  try {
    const token = (await readFile(join(dataDir, LOCAL_TOKEN_FILE), 'utf8')).trim();
    return token.length >= 16 ? token : undefined;
  } catch {
    return undefined;
  }
}
