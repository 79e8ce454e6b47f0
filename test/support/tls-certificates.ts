import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisTlsFiles } from '../../scripts/lib/local-redis';

/**
 * A test CA and a server certificate it signed for 127.0.0.1 (an IP subjectAltName, which is
 * what Node checks a loopback server against), made with `openssl` into `dir`: ca.crt,
 * server.crt, server.key. Valid for two days; nothing outside the test trusts the CA.
 */
export function makeTestCertificates(dir: string): RedisTlsFiles {
  const at = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', '-new', ...ec, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', '/CN=Taskyard test CA']);
  openssl(['req', '-new', ...ec, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1']);
  // clientAuth too: the nodes of a cluster show it to each other on the cluster bus.
  writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl(['x509', '-req', '-in', at('server.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-set_serial', '1', '-days', '2', '-extfile', at('server.ext'), '-out', at('server.crt')]);
  return { caFile: at('ca.crt'), certFile: at('server.crt'), keyFile: at('server.key') };
}

function openssl(args: string[]): void {
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  if (run.error) throw new Error(`the TLS tests need openssl: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`openssl ${args[0]} failed (${run.status}): ${run.stderr}`);
}
