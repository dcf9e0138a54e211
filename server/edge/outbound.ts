/**
 * The outbound address guard: every connection the gateway opens on someone's behalf (credential
 * checks over HTTP, OAuth 2.0 discovery, token, refresh and revocation endpoints, OAuth 1.0a,
 * database logins, webhooks) goes through here. It reaches public unicast addresses, and private,
 * loopback, link-local, carrier-grade NAT, metadata and other non-public addresses only inside the
 * ranges the operator allows (PATCHBAY_ALLOW_PRIVATE_HOSTS). Plain http is allowed only to such
 * allowed non-public addresses.
 *
 * The check runs on the address actually dialled: inside the socket's DNS lookup for names (a DNS
 * rebind between a check and the connection gets nowhere), and before dialling for IP literals
 * (sockets skip the lookup for those). Configured once at start from config (configureOutbound).
 *
 * What a caller tells people about a failed call is decided here too: a refused destination says
 * private addresses are not allowed; every other failure to get an answer (closed port, filtered
 * port, reset, timeout, unknown name) reads the same, "Could not reach <host>:<port>", so the
 * answer does not tell open ports from closed ones.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import net, { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import * as oauth from 'oauth4webapi';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';

/** What an outbound call is for: webhooks keep the deprecated allowance of their own. */
export type OutboundPurpose = 'service' | 'webhook';

/** The operator's settings for the guard (from config.ts). */
export interface OutboundSettings {
  /** Non-public ranges outbound calls may reach, as CIDR strings (PATCHBAY_ALLOW_PRIVATE_HOSTS). */
  allowPrivateHosts: readonly string[];
  /** Deprecated PATCHBAY_WEBHOOK_ALLOW_PRIVATE: webhooks may reach every non-public address. */
  webhookAllowPrivate: boolean;
}

/** Where a call goes, as the user typed it (for messages). */
export interface OutboundTarget {
  host: string;
  port: number | string;
}

/** A destination the guard refused; the message names the host as given, never what it resolved to. */
export class DestinationRefusedError extends Error {
  override name = 'DestinationRefusedError';
  readonly code = 'EDESTINATIONREFUSED';
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Every address: what the deprecated webhook switch means. */
const EVERYTHING: Range[] = [ipaddr.parseCIDR('0.0.0.0/0'), ipaddr.parseCIDR('::/0')];

/** Why a CIDR string is unusable, or null when it is a valid range. */
export function invalidCidr(text: string): string | null {
  if (isIP(text)) return `"${text}" is an address, not a range (write ${text}/${isIP(text) === 4 ? 32 : 128} for that one address)`;
  const [address] = text.split('/');
  const valid = isIP(address) === 4 ? ipaddr.IPv4.isValidCIDRFourPartDecimal(text) : isIP(address) === 6 && ipaddr.IPv6.isValidCIDR(text);
  return valid ? null : `"${text}" is not a CIDR range`;
}

let allowed: Record<OutboundPurpose, Range[]> = { service: [], webhook: [] };
let dispatchers = new Map<OutboundPurpose, Agent>();

/** Sets what the guard allows (once at start; tests that need another policy). Nothing set: public only. */
export function configureOutbound(settings: OutboundSettings): void {
  const service = settings.allowPrivateHosts.map((cidr) => {
    const problem = invalidCidr(cidr);
    if (problem) throw new RangeError(problem);
    return ipaddr.parseCIDR(cidr);
  });
  allowed = { service, webhook: settings.webhookAllowPrivate ? EVERYTHING : service };
  // Pooled sockets were checked under the old policy: new calls start from new pools.
  const previous = dispatchers;
  dispatchers = new Map();
  for (const agent of previous.values()) agent.close().catch(() => {});
}

/**
 * Whether `address` is an ordinary public unicast address. Everything ipaddr.js classifies
 * otherwise is not: loopback, private, link-local (169.254.169.254, the metadata service),
 * unique-local (fd00:ec2::254), carrier-grade NAT (100.100.100.200), unspecified, multicast,
 * reserved and documentation ranges, and IPv6 forms that embed an IPv4 address (mapped, NAT64,
 * 6to4, Teredo), which could smuggle any of those.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** Whether `address` is non-public and inside a range the operator allows for `purpose`. */
function isAllowedPrivate(address: string, purpose: OutboundPurpose): boolean {
  if (!ipaddr.isValid(address) || isPublicAddress(address)) return false;
  const parsed = ipaddr.process(address);
  return allowed[purpose].some((range) => range[0].kind() === parsed.kind() && parsed.match(range));
}

/** Why the guard refuses `address` for `host` (null: allowed). Plain http needs an allowed non-public address. */
function refusal(host: string, address: string, purpose: OutboundPurpose, plainHttp: boolean): DestinationRefusedError | null {
  if (isAllowedPrivate(address, purpose)) return null;
  if (!isPublicAddress(address)) {
    return new DestinationRefusedError(
      `${literal(host) === address ? `${host} is a private address` : `${host} resolves to a private address`}; private addresses are not allowed`,
    );
  }
  if (plainHttp) return new DestinationRefusedError(`${host}: plain http is not allowed to public addresses; use https`);
  return null;
}

/** The host as an IP literal (IPv6 without brackets), or null for a name. */
function literal(host: string): string | null {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) ? bare : null;
}

function resolveAll(hostname: string, signal?: AbortSignal): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    dnsLookup(hostname, { all: true, verbatim: true }, (error, found) => (error ? reject(error) : resolve(found)));
  });
}

/**
 * Resolves a URL's host and refuses it unless every address is allowed (a friendly early answer
 * when a URL is registered; the connection itself is checked again when dialled). Throws
 * DestinationRefusedError, or the resolver's error when the name does not resolve.
 */
export async function checkDestination(url: URL, purpose: OutboundPurpose, signal?: AbortSignal): Promise<void> {
  const plainHttp = url.protocol === 'http:';
  const address = literal(url.hostname);
  const addresses = address ? [address] : (await resolveAll(url.hostname, signal)).map((found) => found.address);
  for (const found of addresses) {
    const refused = refusal(url.hostname, found, purpose, plainHttp);
    if (refused) throw refused;
  }
}

/**
 * A socket `lookup` that resolves like dns.lookup and fails with DestinationRefusedError when any
 * address is refused, so the address connected to is the address checked.
 */
function guardedLookup(purpose: OutboundPurpose, plainHttp: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      for (const { address } of addresses) {
        const refused = refusal(hostname, address, purpose, plainHttp);
        if (refused) return callback(refused, '', 0);
      }
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      const [first] = addresses;
      return callback(null, first.address, first.family);
    });
  };
}

/** Refuses an IP literal before dialling (sockets never call the lookup for one). */
function literalRefusal(host: string, purpose: OutboundPurpose, plainHttp: boolean): DestinationRefusedError | null {
  const address = literal(host);
  return address ? refusal(host, address, purpose, plainHttp) : null;
}

/** An undici dispatcher whose every new connection goes through the guard. */
function dispatcher(purpose: OutboundPurpose): Agent {
  let agent = dispatchers.get(purpose);
  if (!agent) {
    const overTls = buildConnector({ lookup: guardedLookup(purpose, false) });
    const plain = buildConnector({ lookup: guardedLookup(purpose, true) });
    agent = new Agent({
      connect: (options, callback) => {
        const plainHttp = options.protocol !== 'https:';
        const refused = literalRefusal(options.hostname, purpose, plainHttp);
        if (refused) return callback(refused, null);
        return (plainHttp ? plain : overTls)(options, callback);
      },
    });
    dispatchers.set(purpose, agent);
  }
  return agent;
}

/** fetch through the guard (usable as oauth4webapi's `customFetch`). */
export function outboundFetch(input: string | URL, init: RequestInit = {}, purpose: OutboundPurpose = 'service'): Promise<Response> {
  // undici's own fetch: the global one cannot take this undici version's dispatcher.
  return undiciFetch(input, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: dispatcher(purpose) }) as unknown as Promise<Response>;
}

/**
 * oauth4webapi's options for one request: fetch through the guard, which also decides plain http
 * (so oauth4webapi's own https-only check is off), and `signal`.
 */
export function oauthRequestOptions(signal: AbortSignal) {
  return {
    [oauth.customFetch]: (url: string, init: RequestInit) => outboundFetch(url, init),
    [oauth.allowInsecureRequests]: true,
    signal,
  };
}

/**
 * A TCP socket to host:port through the guard, for database drivers that take a socket factory
 * (mysql2's `stream`; postgres.js's `socket` via `connectOutbound`). A refused destination or no
 * connection within `timeoutMs` destroys it with an error, on a later tick so the driver's error
 * handler is attached by then.
 */
export function outboundSocket(host: string, port: number, timeoutMs: number): net.Socket {
  const refused = literalRefusal(host, 'service', false);
  if (refused) {
    const socket = new net.Socket();
    process.nextTick(() => socket.destroy(refused));
    return socket;
  }
  const socket = net.connect({ host: literal(host) ?? host, port, lookup: guardedLookup('service', false) });
  socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
  socket.once('connect', () => socket.setTimeout(0));
  return socket;
}

/** outboundSocket, resolved once connected (postgres.js's `socket` option expects a connected socket). */
export function connectOutbound(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = outboundSocket(host, port, timeoutMs);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** host:port as people write it (IPv6 in brackets). */
export function describeTarget({ host, port }: OutboundTarget): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The target of a URL: its host and port (the scheme's default when none is written). */
export function urlTarget(url: string | URL): OutboundTarget {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: parsed.port || (parsed.protocol === 'http:' ? 80 : 443) };
}

/** The guard's refusal somewhere in an error's cause chain, if any. */
export function refusalIn(error: unknown): DestinationRefusedError | null {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof DestinationRefusedError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * What to tell people about a call that got no answer: the guard's refusal as it is, anything
 * else as the one neutral "Could not reach <host>:<port>".
 */
export function outboundFailure(error: unknown, target: OutboundTarget): { refused: boolean; message: string } {
  const refused = refusalIn(error);
  if (refused) return { refused: true, message: refused.message };
  return { refused: false, message: `Could not reach ${describeTarget(target)}` };
}

/** The low-level reason a call got no answer (ECONNREFUSED, ETIMEDOUT...), for the operator's log only. */
export function networkCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (current instanceof Error && (current.name === 'TimeoutError' || current.name === 'AbortError')) return current.name;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
