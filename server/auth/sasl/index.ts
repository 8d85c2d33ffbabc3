// Public surface of the SASL framework for the stream layer and for tests.

export type {
  ChannelBindingData,
  ChannelBindingType,
  PeerCertificate,
  SaslConnectionInfo,
  SaslContext,
  SaslExchange,
  SaslFailureCondition,
  SaslMechanism,
  SaslStep,
} from './types.ts';
export { createMechanismRegistry, DEFAULT_SASL_MECHANISMS, KNOWN_MECHANISMS, type MechanismRegistry, type SaslConfig } from './registry.ts';
export { AuthFailureBudget, DEFAULT_AUTH_FAILURE_LIMIT, type AuthFailureVerdict } from './failure-budget.ts';
export { decodeSaslPayload, encodeSaslPayload } from './encoding.ts';
export { plainMechanism } from './plain.ts';
export { createExternalMechanism, externalMechanism, EXTERNAL_IDENTITY_METHODS, type ExternalIdentityMethod, type ExternalOptions } from './external.ts';
export {
  scramSha1Mechanism,
  scramSha1PlusMechanism,
  scramSha256Mechanism,
  scramSha256PlusMechanism,
  scramSha512Mechanism,
  scramSha512PlusMechanism,
} from './scram/mechanisms.ts';
