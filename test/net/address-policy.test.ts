import { describe, expect, it } from 'vitest';
import { parseAllowedHosts, parseAllowedPorts, refusal, refusedRange, STRICT_POLICY } from '../../src/net/address-policy.js';

/** What WHATWG URL makes of a host as written in a request (odd IPv4 forms become dotted quads). */
const hostOf = (url: string) => new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');

describe('address policy', () => {
  it('refuses every non-public address, in every textual form the URL parser accepts', () => {
    const refused = [
      'http://127.0.0.1/',
      'http://[::1]/',
      'http://0.0.0.0/',
      'http://2130706433/',
      'http://0x7f000001/',
      'http://0177.0.0.1/',
      'http://127.1/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[0:0:0:0:0:ffff:127.0.0.1]/',
      'http://[::127.0.0.1]/',
      'http://169.254.169.254/',
      'http://[::ffff:169.254.169.254]/',
      'http://10.0.0.1/',
      'http://172.16.5.4/',
      'http://192.168.1.1/',
      'http://100.64.0.1/',
      'http://0.1.2.3/',
      'http://224.0.0.1/',
      'http://255.255.255.255/',
      'http://192.0.2.1/',
      'http://198.51.100.7/',
      'http://203.0.113.9/',
      'http://198.18.0.1/',
      'http://240.0.0.1/',
      'http://[fc00::1]/',
      'http://[fd12:3456::1]/',
      'http://[fe80::1]/',
      'http://[ff02::1]/',
      'http://[::]/',
      'http://[64:ff9b::7f00:1]/',
      'http://[64:ff9b::a9fe:a9fe]/',
      'http://[2002:7f00:1::]/',
      'http://[2001::1]/',
      'http://[2001:db8::1]/',
      'http://[fec0::1]/',
      'http://[100::1]/',
    ];
    for (const url of refused) {
      const host = hostOf(url);
      expect(refusedRange(host), `${url} (${host})`).not.toBeNull();
      expect(refusal(host, host, 80, STRICT_POLICY), url).toMatch(/ is a /);
    }
  });

  it('lets public unicast through on 80, 443 and the configured ports only', () => {
    for (const host of ['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e']) {
      expect(refusedRange(host), host).toBeNull();
      expect(refusal('example.com', host, 443, STRICT_POLICY)).toBeNull();
      expect(refusal('example.com', host, 80, STRICT_POLICY)).toBeNull();
      expect(refusal('example.com', host, 8080, STRICT_POLICY)).toBe('port 8080 is not allowed');
      expect(refusal('example.com', host, 8080, { ...STRICT_POLICY, allowedPorts: [8080] })).toBeNull();
    }
  });

  it('ALLOWED_FETCH_HOSTS opens names and CIDRs (any port), mapped IPv6 included', () => {
    const policy = { ...parseAllowedHosts('127.0.0.1/32, images.lan, .cdn.lan, 10.1.0.0/16, [fd00::]/8'), allowedPorts: [] };
    expect(refusal('127.0.0.1', '127.0.0.1', 7860, policy)).toBeNull();
    expect(refusal('::ffff:127.0.0.1', '::ffff:127.0.0.1', 7860, policy)).toBeNull();
    expect(refusal('127.0.0.2', '127.0.0.2', 80, policy)).toMatch(/loopback/);
    expect(refusal('images.lan', '192.168.7.7', 8000, policy)).toBeNull();
    expect(refusal('IMAGES.LAN.', '192.168.7.7', 8000, policy)).toBeNull();
    expect(refusal('a.cdn.lan', '192.168.7.8', 80, policy)).toBeNull();
    expect(refusal('evilcdn.lan', '192.168.7.8', 80, policy)).toMatch(/private/);
    expect(refusal('x', '10.1.200.3', 80, policy)).toBeNull();
    expect(refusal('x', '10.2.0.1', 80, policy)).toMatch(/private/);
    expect(refusal('x', 'fd00::5', 80, policy)).toBeNull();
    expect(() => parseAllowedHosts('10.0.0.0/40')).toThrow(/ALLOWED_FETCH_HOSTS: "10.0.0.0\/40" is not a valid CIDR/);
    expect(() => parseAllowedHosts('bad host!')).toThrow(/is not a host name/);
    expect(parseAllowedPorts('8080, 8443')).toEqual([8080, 8443]);
    expect(() => parseAllowedPorts('70000')).toThrow(/ALLOWED_FETCH_PORTS/);
  });
});
