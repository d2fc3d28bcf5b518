// Bundles the browser client (src/web/client/main.ts) with esbuild into
// src/web/dist, next to index.html, the styles and the highlight.js theme.
// `npm run build:web` (run by prestart and pretest); the server serves the
// folder at `/` (src/web/plugin.ts). Plain JavaScript so it runs on any Node.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the client; returns the output folder. */
export async function buildWeb({ minify = true } = {}) {
  const web = join(root, 'src', 'web');
  const dist = join(web, 'dist');
  // Build beside the folder, then move each file in (a rename is atomic): a
  // server or a test reading dist never sees a half-written bundle.
  const tmp = join(web, `.dist-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  mkdirSync(dist, { recursive: true });
  try {
    await build({
      entryPoints: [join(web, 'client', 'main.ts')],
      outfile: join(tmp, 'app.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome110', 'firefox115', 'safari16'],
      sourcemap: true,
      minify,
      legalComments: 'linked',
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'warning',
    });
    copyFileSync(join(web, 'index.html'), join(tmp, 'index.html'));
    copyFileSync(join(web, 'styles.css'), join(tmp, 'styles.css'));
    copyFileSync(join(root, 'node_modules', 'highlight.js', 'styles', 'a11y-light.css'), join(tmp, 'highlight.css'));
    for (const file of readdirSync(tmp)) renameSync(join(tmp, file), join(dist, file));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dist;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dist = await buildWeb();
  console.log(`web client built into ${dist}`);
}
