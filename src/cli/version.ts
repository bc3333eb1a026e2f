/**
 * poolsync's version (util/package-version.ts). yargs is given it too: its own look-up starts
 * from where yargs is, which in the bundle is not under node_modules.
 */
export { packageVersion } from '../util/package-version.js';
