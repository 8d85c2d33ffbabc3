// The key an address is counted under. IPv4 (and IPv4-mapped IPv6) by the address; other
// IPv6 by its /64 prefix, since one subscriber usually holds a whole /64 and could
// otherwise step around per-address caps and bans by changing the low bits.

export function addressKey(ip: string): string {
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1]!;
  if (!lower.includes(':')) return lower;
  const groups = expandIpv6(lower.split('%')[0]!);
  return groups === undefined ? lower : `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIpv6(ip: string): string[] | undefined {
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => g.replace(/^0+(?=.)/, ''));
}
