import { addressRefusal, checkUrlShape, UnsafeUrlError } from './ssrf.js';

describe('addressRefusal', () => {
  it.each([
    '127.0.0.1',
    '127.9.9.9',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.1.1',
    '100.64.0.1',
    '::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
  ])('refuses %s unless private networks are allowed', (address) => {
    expect(addressRefusal(address, false)).toMatch(/loopback, private or link-local/);
    expect(addressRefusal(address, true)).toBeNull();
  });

  it.each([
    '0.0.0.0',
    '0.1.2.3',
    '169.254.169.254',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    'fd00:ec2::254',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:8.8.8.8',
    '64:ff9b::7f00:1',
  ])('refuses %s always', (address) => {
    expect(addressRefusal(address, false)).not.toBeNull();
    expect(addressRefusal(address, true)).not.toBeNull();
  });

  it.each(['8.8.8.8', '172.32.0.1', '192.169.0.1', '2001:4860:4860::8888'])('allows the public address %s', (address) => {
    expect(addressRefusal(address, false)).toBeNull();
  });
});

describe('checkUrlShape', () => {
  it('takes https only, and http too when private networks are allowed', () => {
    expect(() => checkUrlShape('http://example.com/h', false)).toThrow(UnsafeUrlError);
    expect(checkUrlShape('http://example.com/h', true).host).toBe('example.com');
    expect(() => checkUrlShape('ftp://example.com/h', true)).toThrow(/http or https/);
  });

  it('checks IP literals, bracketed IPv6 included', () => {
    expect(() => checkUrlShape('https://[::1]:8443/h', false)).toThrow(/loopback/);
    expect(() => checkUrlShape('https://169.254.169.254/', true)).toThrow(/metadata/);
    expect(checkUrlShape('https://[2001:db8::1]/h', false).hostname).toBe('[2001:db8::1]');
  });
});
