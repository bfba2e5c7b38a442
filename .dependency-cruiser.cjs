/**
 * The layers of daemon/, lowest first: a module may import its own layer and the layers below it,
 * never one above, and nothing may import in a circle. `npm run lint:layers` checks it (CI too).
 */
const LAYERS = ['core', 'native', 'media', 'config', 'models', 'detect', 'track', 'events', 'sources|sinks', 'eval', 'store', 'service', 'bench', 'cli'];

const path = (layer) => (layer === 'native' ? '^daemon/native\\.ts$' : `^daemon/(${layer})/`);

const forbidden = [
  { name: 'no-circular', severity: 'error', comment: 'modules that import each other in a circle', from: {}, to: { circular: true } },
  {
    name: 'no-orphans',
    severity: 'error',
    comment: 'a module nothing imports is dead code (commands are loaded by cli/main.ts, the worker by its thread)',
    from: { orphan: true, path: '^daemon/', pathNot: ['^daemon/cli/main\\.ts$', '\\.d\\.ts$'] },
    to: {},
  },
  {
    name: 'only-known-layers',
    severity: 'error',
    comment: 'every module of daemon/ belongs to a layer folder (or is daemon/native.ts)',
    from: { path: '^daemon/', pathNot: [`^daemon/(${LAYERS.join('|')})/`, '^daemon/native\\.ts$'] },
    to: {},
  },
  {
    name: 'sources-and-sinks-apart',
    severity: 'error',
    comment: 'sources and sinks sit side by side: the service layer wires one to the other',
    from: { path: '^daemon/sources/' },
    to: { path: '^daemon/sinks/' },
  },
  {
    name: 'sinks-and-sources-apart',
    severity: 'error',
    comment: 'sources and sinks sit side by side: the service layer wires one to the other',
    from: { path: '^daemon/sinks/' },
    to: { path: '^daemon/sources/' },
  },
];
LAYERS.forEach((layer, i) => {
  const above = LAYERS.slice(i + 1);
  if (above.length === 0) return;
  forbidden.push({
    name: `no-upward-from-${layer.replace('|', '-')}`,
    severity: 'error',
    comment: `${layer} may not import from the layers above it (${above.join(', ')})`,
    from: { path: path(layer) },
    to: { path: above.map(path) },
  });
});

module.exports = {
  forbidden,
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|build)/' },
  },
};
