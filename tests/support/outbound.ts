/**
 * The outbound address guard in tests. Test servers (OAuth providers, stub services, webhook
 * receivers, PostgreSQL, MariaDB) listen on loopback, so every test file starts with loopback
 * allowed, set the way an operator sets it: PATCHBAY_ALLOW_PRIVATE_HOSTS read by readConfig.
 * Tests of refusal switch to another policy with `withOutbound` and are put back afterwards.
 */
import { readConfig } from '../../server/config.js';
import { configureOutbound } from '../../server/edge/outbound.js';

/** What the test setup allows: this machine, over IPv4 and IPv6. */
export const TEST_ALLOW_PRIVATE_HOSTS = '127.0.0.0/8,::1/128';

/** Configures the guard from these environment variables, as the gateway does at start. */
export function configureOutboundFrom(env: NodeJS.ProcessEnv): void {
  configureOutbound(readConfig(env));
}

/** Runs `fn` with the guard configured from `env`, then restores the test default. */
export async function withOutbound<T>(env: NodeJS.ProcessEnv, fn: () => Promise<T>): Promise<T> {
  configureOutboundFrom(env);
  try {
    return await fn();
  } finally {
    configureOutboundFrom({ PATCHBAY_ALLOW_PRIVATE_HOSTS: TEST_ALLOW_PRIVATE_HOSTS });
  }
}

configureOutboundFrom({ PATCHBAY_ALLOW_PRIVATE_HOSTS: TEST_ALLOW_PRIVATE_HOSTS });
