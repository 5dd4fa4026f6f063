/** What scripts/check.mjs bundles for Node: the check command's pure parts, and the worker's code they run. */
export { CONFIG_FILES, environmentOf, formatOf, localOverlay, overlayFileNames, parseConfigFile } from './files';
export { preflight } from './preflight';
export { onlineReport } from './online';
export { runCheck } from './main';
