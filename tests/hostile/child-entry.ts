// The child server's entry for tests: the real server/main.ts, plus a full garbage
// collection on SIGUSR2 so a test can read the server's memory without collector noise.

process.on('SIGUSR2', () => {
  Bun.gc(true);
  process.stdout.write('gc done\n');
});
await import('../../server/main.ts');

export {};
