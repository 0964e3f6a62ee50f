// The layering of src/, checked by `npm run check:layers` and, through test/architecture.test.ts, by `npm test`.
// docs/architecture.md says the same in words.

/** The layers, lowest first: a folder may import only from the folders before it, and from itself. */
const LAYERS = [['lib'], ['events'], ['runpod'], ['config'], ['store'], ['insights'], ['alerts', 'rules', 'notify', 'loop'], ['status'], ['http'], ['daemon'], ['commands']];

const folders = (names) => `^src/(${names.join('|')})/`;

/** One rule per layer: nothing in it imports a layer above it, or cli.ts (the top). */
const upward = LAYERS.map((layer, index) => {
  const above = LAYERS.slice(index + 1).flat();
  return {
    name: `${layer.join('-')}-not-upward`,
    comment: `${layer.join(', ')} may import only from the layers below: ${LAYERS.slice(0, index).flat().join(', ') || 'nothing of ours'}`,
    severity: 'error',
    from: { path: folders(layer) },
    to: { path: above.length > 0 ? `${folders(above)}|^src/cli\\.ts$` : '^src/cli\\.ts$' },
  };
});

/** alerts, rules, notify and loop are siblings: none imports another (the loop takes the others through interfaces it declares). */
const SIBLINGS = LAYERS[6];
const siblings = SIBLINGS.map((name) => ({
  name: `${name}-not-to-siblings`,
  comment: `${name} does not import its siblings (${SIBLINGS.filter((n) => n !== name).join(', ')})`,
  severity: 'error',
  from: { path: folders([name]) },
  to: { path: folders(SIBLINGS.filter((n) => n !== name)) },
}));

module.exports = {
  forbidden: [
    ...upward,
    ...siblings,
    {
      name: 'status-reads-the-store',
      comment: 'the status document is built from the store and a narrow view of the live daemon it declares: nothing from alerts, rules, notify or loop',
      severity: 'error',
      from: { path: '^src/status/' },
      to: { path: folders(SIBLINGS) },
    },
    {
      name: 'config-takes-runpod-types-only',
      comment: "config/ needs RunPod's domain types and constants, never the client or its errors",
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/runpod/', pathNot: '^src/runpod/types\\.ts$' },
    },
    {
      name: 'graphql-behind-runpod-api',
      comment: 'only the composition root and the CLI choose the GraphQL client; everyone else (runpod/ itself included) works with the RunpodApi interface',
      severity: 'error',
      from: { pathNot: '^src/(runpod/graphql|daemon|commands)/' },
      to: { path: '^src/runpod/graphql/' },
    },
    {
      name: 'rest-behind-runpod-api',
      comment: 'only the composition root and the CLI choose the REST v2 client; everyone else (runpod/ itself included) works with the RunpodApi interface',
      severity: 'error',
      from: { pathNot: '^src/(runpod/rest|daemon|commands)/' },
      to: { path: '^src/runpod/rest/' },
    },
    {
      name: 'sim-stands-alone',
      comment: 'the simulator imports only lib/ and the RunPod domain types: it must not share code with the client it stands in for',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: { path: '^src/', pathNot: '^src/(sim/|lib/|runpod/types\\.ts$)' },
    },
    {
      name: 'sim-only-for-commands',
      comment: 'the daemon never runs against the simulator by itself: only commands (sim, demo) start it',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(sim|commands)/' },
      to: { path: '^src/sim/' },
    },
    {
      name: 'sqlite-inside-store',
      comment: 'nothing outside store/ touches SQLite or the raw database handle',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/store/' },
      to: { path: '(^|/)node_modules/(@types/)?better-sqlite3/|^src/store/db\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'every import resolves',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'what ships (src/) does not import a devDependency at run time',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], mainFields: ['module', 'main', 'types', 'typings'] },
  },
};
