import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NATIVE_PORTS } from '../endpoints.ts';
import { serviceDir } from '../paths.ts';
import { requireCommand } from '../prerequisites.ts';
import { provisionOnce } from '../provision.ts';
import type { Service } from '../service.ts';
import { startDetached } from '../supervisor.ts';

const MOTO_REQUIREMENT = 'moto[server]>=5.1,<6';
const home = serviceDir('moto');
const venv = join(home, 'venv');
const baseUrl = `http://127.0.0.1:${NATIVE_PORTS.moto}`;

export const motoService: Service = {
  name: 'moto',
  address: baseUrl,
  ports: [NATIVE_PORTS.moto],
  readyTimeoutMs: 30_000,

  async provision() {
    const python = requireCommand(
      'python3',
      'Install Python 3 with venv and pip (Debian: apt-get install python3-venv python3-pip).',
    );
    provisionOnce(venv, [MOTO_REQUIREMENT], (dir) => {
      execFileSync(python, ['-m', 'venv', dir], { stdio: 'inherit' });
      execFileSync(join(dir, 'bin', 'pip'), ['install', '-q', MOTO_REQUIREMENT], { stdio: 'inherit' });
    });
  },

  async start() {
    return startDetached('moto', join(venv, 'bin', 'moto_server'), [
      '-H',
      '127.0.0.1',
      '-p',
      String(NATIVE_PORTS.moto),
    ]);
  },

  async ready() {
    // The dashboard's page, not its data (/moto-api/data.json dumps every table: after a few benches it took
    // longer than this probe waits, and a serving moto counted as down).
    const response = await fetch(`${baseUrl}/moto-api/`, { signal: AbortSignal.timeout(5_000) });
    await response.body?.cancel();
    return response.ok;
  },

  async version() {
    const sitePackages = join(venv, 'lib');
    if (!existsSync(sitePackages)) return 'unknown';
    for (const python of readdirSync(sitePackages)) {
      const packages = join(sitePackages, python, 'site-packages');
      const dist = readdirSync(packages).find((entry) => /^moto-[\d.]+\.dist-info$/.test(entry));
      if (dist) return dist.replace(/^moto-|\.dist-info$/g, '');
    }
    return 'unknown';
  },
};
