/** Import rules, checked by `npm run deps` (in CI): no module may reach itself again, not even through types. */
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
      name: 'service-free-of-http',
      severity: 'error',
      comment: 'TokenService decides on tokens, logins and token info; requests are the HTTP side.',
      from: { path: '^lib/token-service[.]ts$' },
      to: { path: 'node_modules/express/', reachable: true },
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
