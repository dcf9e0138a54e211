/**
 * Outbound requests to URLs a customer chose (webhook endpoints) must reach the public internet
 * only: never this machine, the private network, link-local or cloud metadata addresses. A name is
 * checked by resolving it and checking every address; at connect time the same check runs inside
 * the socket's DNS lookup, so the address connected to is the address checked (a DNS rebind
 * between registration and delivery gets nowhere).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** A refused destination; the message names the address, never a secret. */
export class PrivateAddressError extends Error {
  override name = 'PrivateAddressError';
  readonly code = 'EPRIVATEADDRESS';
}

/**
 * Whether `address` is an ordinary public unicast address. Everything ipaddr.js classifies
 * otherwise is refused: loopback, private, link-local (169.254.169.254, the metadata service),
 * unique-local (fd00:ec2::254), carrier-grade NAT (100.100.100.200), unspecified, multicast,
 * reserved and documentation ranges, and IPv6 forms that embed an IPv4 address (mapped, NAT64,
 * 6to4, Teredo), which could smuggle any of those.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** The host of a URL as an IP literal (IPv6 without brackets), or null for a name. */
export function literalAddress(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : null;
}

function refuse(host: string, address: string): PrivateAddressError {
  return new PrivateAddressError(
    host === address ? `${address} is not a public address` : `${host} resolves to ${address}, which is not a public address`,
  );
}

/**
 * Resolves a URL's host and refuses it unless every address is public. Throws
 * PrivateAddressError, or the resolver's error when the name does not resolve.
 */
export async function checkPublicHost(url: URL, signal?: AbortSignal): Promise<void> {
  const literal = literalAddress(url);
  if (literal) {
    if (!isPublicAddress(literal)) throw refuse(literal, literal);
    return;
  }
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    dnsLookup(url.hostname, { all: true, verbatim: true }, (error, found) => (error ? reject(error) : resolve(found)));
  });
  for (const { address } of addresses) {
    if (!isPublicAddress(address)) throw refuse(url.hostname, address);
  }
}

/**
 * A socket `lookup` that resolves like dns.lookup and fails with PrivateAddressError when any
 * address is not public, for `net.connect`/`tls.connect` (undici's `connect.lookup`). Sockets skip
 * lookup for IP literals, so callers check those with `literalAddress` first.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find(({ address }) => !isPublicAddress(address));
    if (refused) return callback(refuse(hostname, refused.address), '', 0);
    if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
    if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
    const [first] = addresses;
    return callback(null, first.address, first.family);
  });
};
