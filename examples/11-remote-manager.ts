// 11 · A remote manager: a server exposes a job queue and a result queue over TCP; two worker
//      processes connect with an authkey, take jobs and send results back.
//
// Python idiom: BaseManager with register / get_server / connect (the "Using a remote manager"
// recipe of the multiprocessing docs),
//
//     # server                                           # each worker (any machine)
//     class QueueManager(BaseManager): pass             class QueueManager(BaseManager): pass
//     QueueManager.register('get_job_queue',            QueueManager.register('get_job_queue')
//                           callable=lambda: jobs)      QueueManager.register('get_result_queue')
//     QueueManager.register('get_result_queue',         m = QueueManager(address=(host, port),
//                           callable=lambda: results)                    authkey=b'secret')
//     m = QueueManager(address=('', 50000),             m.connect()
//                      authkey=b'secret')               jobs = m.get_job_queue()
//     m.get_server().serve_forever()                    for n in iter(jobs.get, None): ...
//
// Here: `JobServer.register('getJobQueue', () => jobs)`, `manager.getServer()` +
// `await server.listen()` in this process (so the factories may return this process's own
// queues), and in each worker `JobClient.register('getJobQueue')`, `await client.connect()`,
// `await client.getJobQueue()`. The handshake is challenge-response: the key never crosses the
// wire, and a client with the wrong key gets an AuthenticationError.
//
// Watch for: the server address; the rejected connection with a wrong authkey (the server
// also logs the dropped connection on stderr); each worker's pid as it connects and says hello
// on the result queue (the server waits for both before handing out jobs, so both get a
// share); results tagged with the pid that factored the number; both workers ending at their
// sentinel with exit code 0. The workers here are started by this program for
// convenience, but all they receive is the address and the key: to spread out over
// machines, listen on { host: '0.0.0.0', port: 50000 } and call worker() elsewhere with the
// server's host name; nothing else changes.
//
// Run:   npx tsx examples/11-remote-manager.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/11-remote-manager.ts   (a quick run)
//
// Task style: MODULE REFERENCE to this file: the worker needs the JobClient class of this
// module, so it is `tasks<typeof import('./11-remote-manager.ts')>(…).worker`, and the server
// code runs only `if (isMainProcess())`.

import { randomBytes } from 'node:crypto';
// In your project: import { AuthenticationError, BaseManager, Process, Queue, isMainProcess, tasks, type Address } from 'multiproc';
import { AuthenticationError, BaseManager, Process, Queue, currentProcess, isMainProcess, tasks, type Address } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const JOBS = SMALL ? 12 : 40;

/** What workers send back: a greeting once connected, then one message per finished job. */
export type Report = { kind: 'hello'; worker: string; pid: number } | { kind: 'factored'; n: number; factors: number[]; worker: string; pid: number };

/** The server side's manager class: its typeids get factories (Python's `callable=`). */
class JobServer extends BaseManager {}
/** The client side's manager class: the same typeids, registered without factories. */
export class JobClient extends BaseManager {}
/**
 * The methods register() adds, typed: an interface with the class's name merges into it
 * (TypeScript's declaration merging), so `client.getJobQueue()` is typed.
 */
export interface JobClient {
  getJobQueue(): Promise<Queue<number | null>>;
  getResultQueue(): Promise<Queue<Report>>;
}

/** `host:port` (TCP) or the socket path. */
function where(address: Address): string {
  return typeof address === 'string' ? address : `${address.host}:${address.port}`;
}

/** Prime factors by trial division: a little CPU work per job. */
function factorize(n: number): number[] {
  const factors: number[] = [];
  for (let d = 2; d * d <= n; d++) {
    while (n % d === 0) {
      factors.push(d);
      n /= d;
    }
  }
  if (n > 1) factors.push(n);
  return factors;
}

/** A worker: connect with the key, factor numbers until the sentinel, report each result. */
export async function worker(name: string, address: Address, authkey: string): Promise<void> {
  JobClient.register('getJobQueue');
  JobClient.register('getResultQueue');
  // For a connected client, disposal (shutdown) only closes this client; the server goes on.
  await using client = new JobClient({ address, authkey });
  await client.connect();
  console.log(`    ${name} pid ${process.pid} connected to ${where(address)}`);
  const jobs = await client.getJobQueue();
  const results = await client.getResultQueue();
  await results.put({ kind: 'hello', worker: name, pid: process.pid });
  let done = 0;
  for await (const next of jobs.until(null)) {
    const n = next!; // until() ends at the sentinel, so `next` is never null here
    await results.put({ kind: 'factored', n, factors: factorize(n), worker: name, pid: process.pid });
    done++;
  }
  console.log(`    ${name} pid ${process.pid} got the sentinel after ${done} jobs`);
}

async function main(): Promise<void> {
  // Python's authkey is bytes; a random key per run, handed to the workers as an argument.
  const authkey = randomBytes(16).toString('hex');
  const jobs = new Queue<number | null>();
  const results = new Queue<Report>();
  JobServer.register('getJobQueue', () => jobs);
  JobServer.register('getResultQueue', () => results);
  const manager = new JobServer({ address: { host: '127.0.0.1', port: 0 }, authkey });
  const server = manager.getServer();
  await server.listen();
  const address = server.address;
  console.log(`main pid ${currentProcess().pid}: job server listening on ${where(address)}`);

  const workers: Process<any>[] = [];
  try {
    // A client with the wrong key is turned away.
    const intruder = new JobClient({ address, authkey: 'not-the-key' });
    try {
      await intruder.connect();
      throw new Error('a client with a wrong authkey was let in');
    } catch (err) {
      if (!(err instanceof AuthenticationError)) throw err;
      console.log(`  wrong authkey refused: ${err.name} (${err.code})`);
    } finally {
      await intruder.shutdown();
    }

    const self = tasks<typeof import('./11-remote-manager.ts')>(new URL(import.meta.url));
    for (const name of ['worker-A', 'worker-B']) {
      const p = new Process({ target: self.worker, args: [name, address, authkey] as [string, Address, string], name });
      workers.push(p);
      p.start();
      console.log(`  started ${name} pid ${p.pid}`);
    }

    // Wait until both have connected (their greeting), so both get a share of the jobs.
    for (const _ of workers) {
      const hello = await results.get({ timeout: 30_000 });
      console.log(`  ${hello.worker} pid ${hello.pid} is ready`);
    }

    const t0 = performance.now();
    // Odd numbers around 10^13: up to a few million trial divisions each, quick to check.
    const numbers = Array.from({ length: JOBS }, (_, i) => 10_000_000_000_037 + i * 2_000_000_002);
    for (const n of numbers) await jobs.put(n);
    for (const _ of workers) await jobs.put(null); // one sentinel per worker

    const perWorker = new Map<string, number>();
    for (let i = 0; i < numbers.length; i++) {
      const r = await results.get({ timeout: 30_000 });
      if (r.kind !== 'factored') throw new Error(`unexpected report ${JSON.stringify(r)}`);
      if (r.factors.reduce((a, b) => a * b, 1) !== r.n) throw new Error(`wrong factors for ${r.n}: ${r.factors}`);
      perWorker.set(`${r.worker} pid ${r.pid}`, (perWorker.get(`${r.worker} pid ${r.pid}`) ?? 0) + 1);
      if (i < 4) console.log(`  ${r.n} = ${r.factors.join(' × ')}  (${r.worker}, pid ${r.pid})`);
    }
    for (const p of workers) await p.join();
    for (const [who, n] of perWorker) console.log(`  ${who}: ${n} jobs`);
    console.log(
      `${numbers.length} jobs factored by ${perWorker.size} remote workers in ${(performance.now() - t0).toFixed(0)} ms; worker exit codes [${workers.map((p) => p.exitCode).join(', ')}]`,
    );
  } finally {
    for (const p of workers) await p[Symbol.asyncDispose]();
    await server.close();
    await jobs.close();
    await results.close();
  }
}

if (isMainProcess()) await main();
