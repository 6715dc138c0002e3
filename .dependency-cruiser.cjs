/**
 * Import rules, checked by `npm run deps` (in CI). lib/ is in floors (see lib/README.md): the contract,
 * errors and formats at the top; check/ (the request path's check) on them; manage/ (issuing, listing,
 * revoking) on both; http/ (Express and Passport) on everything. A floor never imports one above it,
 * and no module may reach itself again, not even through types.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two files that cannot be read, tested or loaded one without the other.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'top-imports-only-top',
      severity: 'error',
      comment:
        'The contract, errors and formats at the top of lib/ are what every floor shares: they know none of the floors.',
      from: { path: '^lib/[^/]+[.]ts$', pathNot: '^lib/index[.]ts$' },
      to: { path: '^lib/(check|manage|http)/' },
    },
    {
      name: 'check-is-the-request-path-only',
      severity: 'error',
      comment:
        'The check issues, lists and revokes nothing and knows no HTTP: lib/check/ imports neither manage/ nor http/.',
      from: { path: '^lib/check/' },
      to: { path: '^lib/(manage|http)/' },
    },
    {
      name: 'manage-knows-no-http',
      severity: 'error',
      comment:
        'Issuing, listing and revoking are the same from a router, the CLI or a script: lib/manage/ imports nothing of http/.',
      from: { path: '^lib/manage/' },
      to: { path: '^lib/http/' },
    },
    {
      name: 'core-free-of-express',
      severity: 'error',
      comment:
        'The check and the management decide on tokens, logins and token info; requests are the HTTP side.',
      from: { path: '^lib/(check|manage)/' },
      to: { path: 'node_modules/(express|passport)', reachable: true },
    },
    {
      name: 'stores-see-the-contract-only',
      severity: 'error',
      comment:
        'A store applies what the service decides: it imports the contract and formats, and the plan rule of lib/check/, never the service or the HTTP side.',
      from: { path: '^adapters/' },
      to: { path: '^lib/(manage|http)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle through types is still two files that know each other.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
