// Accounts: register, unregister, change password, list, check, count. These work on storage
// alone, so meerkatctl can run them while the server is stopped; on a running node they also
// run the register_user/remove_user hooks and end the removed account's sessions.

import { deriveCredentials } from '../../auth/credentials.ts';
import { StreamError } from '../../errors.ts';
import { parseJid } from '../../jid.ts';
import { defineCommand, fail, type CommandArgs } from '../command.ts';
import type { AdminNode } from '../node.ts';

const XEP0133 = 'http://jabber.org/protocol/admin';

const accountArg = {
  name: 'jid', type: 'account', description: 'the account, user@host', example: 'alice@localhost', formVar: 'accountjid',
} as const;
const passwordArg = {
  name: 'password', type: 'secret', description: 'the new password', example: 'correct horse battery staple', formVar: 'password',
} as const;
const hostArg = { name: 'host', type: 'host', description: 'one served host (all when left out)', example: 'localhost', optional: true } as const;

async function credentialsFor(node: AdminNode, password: string) {
  const { hashes, scram_iterations } = node.config.auth.password;
  return deriveCredentials(password, { iterations: scram_iterations, hashes: [...hashes] });
}

const jidOf = (args: CommandArgs) => parseJid(args.jid as string);

export const accountRegister = defineCommand({
  name: ['account', 'register'],
  group: 'accounts',
  summary: 'create an account',
  args: [accountArg, passwordArg],
  returns: 'nothing',
  access: 'admin',
  xep0133: `${XEP0133}#add-user`,
  aliases: [['user', 'add']],
  offline: true,
  async run(node, args) {
    const jid = jidOf(args);
    const credentials = await credentialsFor(node, args.password as string);
    const created = await (await node.storage()).users.create(jid.domain, jid.local, credentials);
    if (!created) return fail('conflict', `${jid} already exists`);
    await node.core?.hooks.runAsync('register_user', jid.domain, { jid });
    node.logger.info('admin_account_registered', { jid: jid.toString() });
    return { ok: true, message: `created ${jid}` };
  },
});

export const accountUnregister = defineCommand({
  name: ['account', 'unregister'],
  group: 'accounts',
  summary: 'delete an account and the data modules stored for it; its sessions end',
  args: [accountArg],
  returns: 'nothing',
  access: 'admin',
  xep0133: `${XEP0133}#delete-user`,
  aliases: [['user', 'del']],
  offline: true,
  async run(node, args) {
    const jid = jidOf(args);
    const storage = await node.storage();
    if ((await storage.users.get(jid.domain, jid.local)) === undefined) return fail('not_found', `${jid} does not exist`);
    await node.core?.hooks.runAsync('remove_user', jid.domain, { jid });
    const removed = await storage.users.remove(jid.domain, jid.local);
    if (!removed) return fail('not_found', `${jid} does not exist`);
    for (const session of [...(node.core?.sessions.resources(jid) ?? [])]) {
      session.close(new StreamError('not-authorized', { text: 'the account was removed' }));
      node.core?.sessions.remove(session, 'account removed');
    }
    node.logger.info('admin_account_removed', { jid: jid.toString() });
    return { ok: true, message: `deleted ${jid}` };
  },
});

export const accountChangePassword = defineCommand({
  name: ['account', 'change-password'],
  group: 'accounts',
  summary: "set an account's password",
  args: [accountArg, passwordArg],
  returns: 'nothing',
  access: 'admin',
  xep0133: `${XEP0133}#change-user-password`,
  aliases: [['user', 'passwd']],
  offline: true,
  async run(node, args) {
    const jid = jidOf(args);
    const credentials = await credentialsFor(node, args.password as string);
    const changed = await (await node.storage()).users.setCredentials(jid.domain, jid.local, credentials);
    return changed ? { ok: true, message: `password changed for ${jid}` } : fail('not_found', `${jid} does not exist`);
  },
});

export const accountList = defineCommand({
  name: ['account', 'list'],
  group: 'accounts',
  summary: 'list the accounts of one host, or of every host',
  args: [hostArg],
  returns: 'the accounts, as bare JIDs',
  access: 'monitor',
  readOnly: true,
  aliases: [['user', 'list']],
  offline: true,
  async run(node, args) {
    const storage = await node.storage();
    const jids: string[] = [];
    for (const host of args.host !== undefined ? [args.host as string] : node.config.general.hosts) {
      for (const user of await storage.users.list(host)) jids.push(`${user}@${host}`);
    }
    return { ok: true, data: jids, lines: jids };
  },
});

export const accountCheck = defineCommand({
  name: ['account', 'check'],
  group: 'accounts',
  summary: 'tell whether an account exists (exit status 1 when not)',
  args: [accountArg],
  returns: '{ exists: true, created: ISO date } (not_found when there is no such account)',
  access: 'monitor',
  readOnly: true,
  offline: true,
  async run(node, args) {
    const jid = jidOf(args);
    const record = await (await node.storage()).users.get(jid.domain, jid.local);
    if (record === undefined) return fail('not_found', `${jid} does not exist`);
    return { ok: true, message: `${jid} exists`, data: { exists: true, created: record.createdAt.toISOString() } };
  },
});

export const accountCount = defineCommand({
  name: ['account', 'count'],
  group: 'accounts',
  summary: 'count the accounts of one host, or of every host',
  args: [hostArg],
  returns: '{ count }',
  access: 'monitor',
  readOnly: true,
  xep0133: `${XEP0133}#get-registered-users-num`,
  offline: true,
  async run(node, args) {
    const storage = await node.storage();
    let count = 0;
    for (const host of args.host !== undefined ? [args.host as string] : node.config.general.hosts) count += await storage.users.count(host);
    return { ok: true, data: { count }, lines: [String(count)] };
  },
});

export const ACCOUNT_COMMANDS = [accountRegister, accountUnregister, accountChangePassword, accountList, accountCheck, accountCount];
