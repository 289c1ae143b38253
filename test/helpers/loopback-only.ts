/**
 * Tests send traffic to 127.0.0.0/8 and ::1 only. Outbound guards made for tests carry this block
 * list (checked by Node right before every dial), so even a broken outbound policy could not make
 * a test connect anywhere else: the dial fails with ERR_IP_BLOCKED instead.
 */
import { BlockList } from 'node:net';

export function loopbackOnlyBlockList(): BlockList {
  const list = new BlockList();
  list.addRange('0.0.0.0', '126.255.255.255', 'ipv4');
  list.addRange('128.0.0.0', '255.255.255.255', 'ipv4');
  list.addAddress('::', 'ipv6');
  list.addRange('::2', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ipv6');
  return list;
}
