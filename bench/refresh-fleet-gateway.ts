/**
 * A gateway process for bench/refresh-fleet.ts: server/main.ts as is, plus a way for the bench to
 * read how many SQL statements this process sent (SIGUSR2 writes the count to STATS_FILE). With
 * PROFILE_FILE set, the first SIGUSR2 also starts a CPU profile and the second writes it there, so
 * that the profile covers the measured run only (Node 20 refuses --cpu-prof in NODE_OPTIONS).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { executedStatements } from '../server/db/client.js';

let profiler: Session | undefined;
let reports = 0;

process.on('SIGUSR2', () => {
  reports += 1;
  const profileFile = process.env.PROFILE_FILE;
  if (profileFile && reports === 1) {
    profiler = new Session();
    profiler.connect();
    profiler.post('Profiler.enable', () => profiler!.post('Profiler.start'));
  } else if (profileFile && reports === 2 && profiler) {
    const session = profiler;
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(profileFile, JSON.stringify(result.profile));
      session.disconnect();
    });
  }
  // Written after the profiler is started or stopped: the bench reads the file as the signal's answer.
  if (process.env.STATS_FILE) writeFileSync(process.env.STATS_FILE, JSON.stringify({ statements: executedStatements() }));
});
await import('../server/main.js');
