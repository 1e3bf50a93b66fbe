import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

/**
 * Where the server may send requests of its own (image URLs, webhooks). By default only public unicast
 * addresses on ports 80 and 443; `ALLOWED_FETCH_HOSTS` names hosts and CIDRs that are let through anyway
 * (on any port: an operator who allows a LAN image host allows it whole), `ALLOWED_FETCH_PORTS` adds ports
 * for every public host.
 */
export interface OutboundPolicy {
  /** Lower-case host names allowed whatever they resolve to; ".example.lan" also allows its subdomains. */
  allowedHosts: readonly string[];
  /** Address ranges allowed even when private, loopback and so on. */
  allowedCidrs: readonly Cidr[];
  /** Ports allowed besides 80 and 443. */
  allowedPorts: readonly number[];
}

export const STRICT_POLICY: OutboundPolicy = { allowedHosts: [], allowedCidrs: [], allowedPorts: [] };

/** Parses `ALLOWED_FETCH_HOSTS` ("127.0.0.1/32,10.0.0.0/8,images.lan,.cdn.lan,::1"); throws a config error on a bad entry. */
export function parseAllowedHosts(raw: string | undefined): Pick<OutboundPolicy, 'allowedHosts' | 'allowedCidrs'> {
  const allowedHosts: string[] = [];
  const allowedCidrs: Cidr[] = [];
  for (const entry of (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const bare = entry.replace(/^\[(.*)\](\/\d+)?$/, '$1$2');
    if (bare.includes('/')) {
      try {
        const [addr, bits] = ipaddr.parseCIDR(bare);
        allowedCidrs.push([normalise(addr), addr.kind() === 'ipv6' && normalise(addr).kind() === 'ipv4' ? Math.max(0, bits - 96) : bits]);
      } catch {
        throw new Error(`config: ALLOWED_FETCH_HOSTS: "${entry}" is not a valid CIDR (like 10.0.0.0/8 or fd00::/8)`);
      }
    } else if (ipaddr.isValid(bare)) {
      const addr = normalise(ipaddr.parse(bare));
      allowedCidrs.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
    } else if (/^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(bare)) {
      allowedHosts.push(bare.toLowerCase());
    } else {
      throw new Error(`config: ALLOWED_FETCH_HOSTS: "${entry}" is not a host name, an IP address or a CIDR`);
    }
  }
  return { allowedHosts, allowedCidrs };
}

/** Parses `ALLOWED_FETCH_PORTS` ("8080,8443"). */
export function parseAllowedPorts(raw: string | undefined): number[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const port = Number(s);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`config: ALLOWED_FETCH_PORTS: "${s}" is not a port (1-65535)`);
      return port;
    });
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it carries. */
function normalise(addr: Address): Address {
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
}

// IPv6 that is global unicast by ipaddr.js's table but still reaches IPv4 space or is not routable.
const IPV6_GLOBAL = ipaddr.parseCIDR('2000::/3');
const IPV6_EXTRA_REFUSED: Cidr[] = ['::/96', '::ffff:0:0/96', '64:ff9b::/96', '64:ff9b:1::/48', '2001:db8::/32', '2002::/16', '2001::/32'].map((c) =>
  ipaddr.parseCIDR(c),
);

/** Why an address may not be reached (loopback, private, …), or null when it is public unicast. */
export function refusedRange(text: string): string | null {
  if (!ipaddr.isValid(text)) return 'not an IP address';
  const addr = normalise(ipaddr.parse(text));
  const range = addr.range();
  if (range !== 'unicast') return range;
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (!v6.match(IPV6_GLOBAL)) return 'not global unicast';
    for (const cidr of IPV6_EXTRA_REFUSED) if (v6.match(cidr as [ipaddr.IPv6, number])) return 'reserved';
  }
  return null;
}

function inAllowedCidr(text: string, policy: OutboundPolicy): boolean {
  if (!ipaddr.isValid(text)) return false;
  const addr = normalise(ipaddr.parse(text));
  return policy.allowedCidrs.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
}

/** Whether a host name (as written in the URL, lower case) is allow-listed by name. */
export function hostAllowed(hostname: string, policy: OutboundPolicy): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return policy.allowedHosts.some((h) => (h.startsWith('.') ? host.endsWith(h) || host === h.slice(1) : host === h));
}

/**
 * The reason a connection to `address` (resolved from `hostname`) on `port` is refused, or null when it is
 * allowed. Allow-listed names and CIDRs pass on any port; everything else must be public unicast on 80, 443
 * or an `allowedPorts` port.
 */
export function refusal(hostname: string, address: string, port: number, policy: OutboundPolicy): string | null {
  if (hostAllowed(hostname, policy) || inAllowedCidr(address, policy)) return null;
  const range = refusedRange(address);
  if (range) return `${address} is a ${range} address`;
  if (port !== 80 && port !== 443 && !policy.allowedPorts.includes(port)) return `port ${port} is not allowed`;
  return null;
}
