// The library's size as a browser downloads it: minified by esbuild (fetched by npx for this run only, not a
// dependency of the package), then gzipped at level 9. Usage: npm run size
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const source = new URL('../src/gateway-client.js', import.meta.url);
const raw = readFileSync(source);
const minified = execFileSync('npx', ['--yes', 'esbuild@0.28.2', source.pathname, '--minify', '--format=esm'], { maxBuffer: 16 << 20 });
const gzipped = gzipSync(minified, { level: 9 });
const kb = n => `${n} bytes (${(n / 1024).toFixed(1)} KiB)`;
console.log(`source:           ${kb(raw.length)}`);
console.log(`minified:         ${kb(minified.length)}`);
console.log(`minified + gzip:  ${kb(gzipped.length)}`);
