// XEP-0092: tells who asks which software the server runs. The version comes from
// package.json so a release never reports a stale number; the operating system is only
// disclosed when the operator opts in (it helps attackers more than users).

import { readFileSync } from 'node:fs';
import { defineModule } from '../server/core/registry.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { NS_VERSION } from '../server/ns.ts';
import { xml } from '../server/xml/element.ts';
import { StanzaError } from '../server/errors.ts';

const schema = s.object({
  /** Software name reported to clients. */
  name: s.string().default('Meerkat'),
  /** Include <os/> (e.g. "Linux 6.1 x64"); off by default. */
  show_os: s.bool().default(false),
  /** Text reported as <os/> when show_os is on; the running system when unset. */
  os: s.string().optional(),
});

type Options = Infer<typeof schema>;

/** The version in package.json, read once. */
export function serverVersion(): string {
  packageVersion ??= readPackageVersion();
  return packageVersion;
}

let packageVersion: string | undefined;

function readPackageVersion(): string {
  try {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function runningOs(): string {
  return `${process.platform} ${process.arch}`;
}

export const modVersion = defineModule<Options>({
  name: 'mod_version',
  xeps: ['XEP-0092'],
  defaults: schema.parse({}, ['modules', 'mod_version']),
  schema,
  start(_host, opts, ctx) {
    ctx.addFeature(NS_VERSION);
    const version = serverVersion();
    const os = opts.show_os ? (opts.os ?? runningOs()) : undefined;
    ctx.addIqHandler('local', NS_VERSION, 'query', (req) => {
      if (req.type !== 'get') return new StanzaError('bad-request', { text: 'software version is an IQ get' });
      return xml('query', { xmlns: NS_VERSION },
        xml('name', null, opts.name),
        xml('version', null, version),
        os === undefined ? undefined : xml('os', null, os));
    });
  },
});
