import { promises as dns, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

function blockList(rules: readonly string[], type: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const rule of rules) {
    const [address, prefix] = rule.split('/');
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/*
 * One list per family: Node's BlockList matches an IPv4 address against IPv4-mapped IPv6 rules too,
 * so ::ffff:0:0/96 in a shared list would refuse every IPv4 address.
 * NEVER: no webhook target whatever the configuration (nowhere, broadcast, multicast, cloud
 * metadata, IPv4 behind IPv6: mapped and NAT64, whose IPv4 rules would be bypassed).
 * PRIVATE: loopback, private, link-local, CGNAT; allowed with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true.
 */
const NEVER = {
  ipv4: blockList(['0.0.0.0/8', '169.254.169.254', '224.0.0.0/4', '255.255.255.255'], 'ipv4'),
  ipv6: blockList(['::', 'fd00:ec2::254', 'ff00::/8', '::ffff:0:0/96', '64:ff9b::/96'], 'ipv6'),
};
const PRIVATE = {
  ipv4: blockList(['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10'], 'ipv4'),
  ipv6: blockList(['::1', 'fc00::/7', 'fe80::/10'], 'ipv6'),
};

/**
 * Why a webhook may not connect to `address` (an IP literal), or null if it may. Names the kind of
 * address, never the address: the message reaches the API caller, and resolved addresses would
 * map internal DNS for them.
 */
export function addressRefusal(address: string, allowPrivate: boolean): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (NEVER[type].check(address, type)) return 'an unspecified, multicast, metadata or IPv4-mapped address';
  if (!allowPrivate && PRIVATE[type].check(address, type)) return 'a loopback, private or link-local address';
  return null;
}

/** A URL the dispatcher refuses to call. */
export class UnsafeUrlError extends Error {}

/** The URL's own rules, before any DNS: absolute, https (http only with private networks allowed), no credentials, IP literals checked. */
export function checkUrlShape(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError('must be an absolute URL such as https://example.com/webhooks');
  }
  const schemes = allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) throw new UnsafeUrlError(allowPrivate ? 'must be an http or https URL' : 'must be an https URL');
  if (url.username !== '' || url.password !== '') throw new UnsafeUrlError('must not hold a user name or password');
  const host = hostAddress(url);
  if (isIP(host) !== 0) {
    const refusal = addressRefusal(host, allowPrivate);
    if (refusal !== null) throw new UnsafeUrlError(`its address is ${refusal}`);
  }
  return url;
}

/** The URL's host without IPv6 brackets. */
export function hostAddress(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** Resolves `host` and checks every address it has: one refused address refuses the host (DNS can answer either). */
export async function resolveChecked(host: string, allowPrivate: boolean): Promise<LookupAddress[]> {
  const addresses = isIP(host) !== 0 ? [{ address: host, family: isIP(host) }] : await dns.lookup(host, { all: true, verbatim: true });
  if (addresses.length === 0) throw new UnsafeUrlError('its host has no address');
  for (const { address } of addresses) {
    const refusal = addressRefusal(address, allowPrivate);
    if (refusal !== null) throw new UnsafeUrlError(`its host resolves to ${refusal}`);
  }
  return addresses;
}

/**
 * A `lookup` for http(s).request: resolves the host itself and checks every address, so the
 * socket connects to an address that was checked, at send time (DNS may have changed since the
 * endpoint was created, or answer differently a second time).
 */
export function checkedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, allowPrivate).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (wanted.length === 0) return callback(new UnsafeUrlError(`its host has no IPv${String(options.family)} address`), '', 0);
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, wanted);
        callback(null, wanted[0].address, wanted[0].family);
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
}
