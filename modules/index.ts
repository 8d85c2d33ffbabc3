// The catalogue of modules and services this build knows. Configuration picks which run:
// a [modules.mod_x] table starts mod_x on every host, a [services.service_x] table starts
// service_x once per node.

import type { ModuleDefinition, ServiceDefinition } from '../server/core/registry.ts';
import { modPing } from './mod_ping.ts';
import { modVersion } from './mod_version.ts';
import { modLast } from './mod_last.ts';
import { modVcard } from './mod_vcard.ts';
import { modPrivate } from './mod_private.ts';
import { modCarboncopy } from './mod_carboncopy.ts';
import { modBlocking } from './mod_blocking.ts';
import { modCsi } from './mod_csi.ts';
import { modStreamManagement } from './mod_stream_management/index.ts';
import { modRegister } from './mod_register.ts';
import { modRoster } from './mod_roster/index.ts';
import { modOffline } from './mod_offline.ts';
import { modDisco } from './mod_disco.ts';
import { modJingleSip } from './mod_jingle_sip/index.ts';
import { modMam } from './mod_mam/index.ts';
import { modInbox } from './mod_inbox/index.ts';
import { serviceAdminExtra } from './service_admin_extra.ts';
import { modAdhoc } from './mod_adhoc.ts';
import { modEventPusher } from './mod_event_pusher/index.ts';
import { modPubsubPush } from './mod_pubsub_push/index.ts';
import { modGlobalDistrib } from './mod_global_distrib/index.ts';

export const MODULES: ModuleDefinition<unknown>[] = [
  modPing as ModuleDefinition<unknown>,
  modVersion as ModuleDefinition<unknown>,
  modLast as ModuleDefinition<unknown>,
  modVcard as ModuleDefinition<unknown>,
  modPrivate as ModuleDefinition<unknown>,
  modCarboncopy as ModuleDefinition<unknown>,
  modBlocking as ModuleDefinition<unknown>,
  modCsi as ModuleDefinition<unknown>,
  modStreamManagement as ModuleDefinition<unknown>,
  modRegister as ModuleDefinition<unknown>,
  modRoster as ModuleDefinition<unknown>,
  modOffline as ModuleDefinition<unknown>,
  modDisco as ModuleDefinition<unknown>,
  modJingleSip as ModuleDefinition<unknown>,
  modMam as ModuleDefinition<unknown>,
  modInbox as ModuleDefinition<unknown>,
  modAdhoc as ModuleDefinition<unknown>,
  modEventPusher as ModuleDefinition<unknown>,
  modPubsubPush as ModuleDefinition<unknown>,
  modGlobalDistrib as ModuleDefinition<unknown>,
];

export const SERVICES: ServiceDefinition<unknown, unknown>[] = [
  serviceAdminExtra as ServiceDefinition<unknown, unknown>,
];
