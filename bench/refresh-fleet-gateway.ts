/**
 * A gateway process for bench/refresh-fleet.ts: server/main.ts as is, plus a way for the bench to
 * read how many SQL statements this process sent (SIGUSR2 writes the count to STATS_FILE).
 */
import { writeFileSync } from 'node:fs';
import { executedStatements } from '../server/db/client.js';

process.on('SIGUSR2', () => {
  if (process.env.STATS_FILE) writeFileSync(process.env.STATS_FILE, JSON.stringify({ statements: executedStatements() }));
});
await import('../server/main.js');
