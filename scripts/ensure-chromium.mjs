// Runs before `npm test`: the dashboard's browser test needs Debian's chromium at /usr/bin/chromium.
// On a machine without it, it is installed with apt-get when we may (root on Debian); otherwise
// this says what to install and stops, rather than let the browser test fail obscurely.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  const root = process.getuid?.() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    console.error(`the dashboard's browser test needs Debian's chromium at ${CHROMIUM}: run  sudo apt-get install --no-install-recommends chromium`);
    process.exit(1);
  }
  console.error(`installing Debian's chromium for the browser test (apt-get install --no-install-recommends chromium)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
}
