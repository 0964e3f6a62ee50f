import { createRequire } from 'node:module';

// src/lib and dist/lib are both two levels below the package root.
const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The package version, sent in the User-Agent and printed by `--version`. */
export const VERSION: string = pkg.version;
