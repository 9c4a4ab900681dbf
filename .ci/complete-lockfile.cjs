#!/usr/bin/env node
// Records other platforms' optional native bindings that this machine's registry mirror does not serve,
// so `npm ci` finds the lock complete; npm skips them by os/cpu/libc on install.
const fs = require('fs');
const file = process.argv[2];
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pkgs = lock.packages;
const OS = { android: 'android', darwin: 'darwin', freebsd: 'freebsd', linux: 'linux', openharmony: 'openharmony', win32: 'win32' };
let added = 0;
for (const [path, meta] of Object.entries(pkgs)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const base = path ? `${path}/node_modules/` : 'node_modules/';
    if (pkgs[`${base}${dep}`] || pkgs[`node_modules/${dep}`]) continue;
    const m = /binding-([a-z0-9]+)-([a-z0-9]+)(?:-([a-z]+))?$/.exec(dep);
    if (!m || !OS[m[1]]) {
      console.error('cannot place', dep);
      continue;
    }
    const entry = { version, dev: meta.dev, optional: true, os: [OS[m[1]]], cpu: [m[2] === 'arm' ? 'arm' : m[2]] };
    if (m[3] === 'gnu' || m[3] === 'musl') entry.libc = [m[3] === 'gnu' ? 'glibc' : 'musl'];
    pkgs[`node_modules/${dep}`] = entry;
    added++;
  }
}
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} entries`);
