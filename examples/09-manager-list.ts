// 09 · A Manager list filled by pool workers: page titles fetched from a local web server.
//
// Python idiom: multiprocessing.Manager().list() shared with Pool workers,
//
//     def get_title(url, titles):
//         html = urllib.request.urlopen(url).read().decode()
//         titles.append((url, re.search('<title>(.*?)</title>', html).group(1)))
//     with Manager() as manager:
//         titles = manager.list()
//         with Pool(4) as pool:
//             pool.starmap(get_title, [(url, titles) for url in urls])
//         print(list(titles))
//
// Here: `await using manager = await Manager.start()`, `const titles = await manager.list()`,
// and the ListProxy passed to every task as an ordinary argument; workers `await
// titles.append(...)`. The pages come from an http server this program starts on 127.0.0.1
// (no internet needed).
//
// Watch for: the manager runs in its own process (its pid is printed); four worker pids fetch
// pages and append to the same list (not evenly: see the "note:" line); the server counts the
// requests; the list ends up with exactly one entry per page, in whatever order the workers
// finished.
//
// Run:   npx tsx examples/09-manager-list.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/09-manager-list.ts   (a quick run)
//
// Task style: MODULE REFERENCE to this file: fetchTitle calls the `extractTitle` helper of
// this module, so workers import the module (`tasks<typeof import('./09-manager-list.ts')>`)
// and the main code is guarded by isMainProcess().

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// In your project: import { Manager, Pool, activeChildren, isMainProcess, tasks, type ListProxy } from 'multiproc';
import { Manager, Pool, activeChildren, currentProcess, isMainProcess, tasks, type ListProxy } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const PAGES = SMALL ? 12 : 60;

/** One entry of the shared list. */
export interface TitleEntry {
  url: string;
  title: string;
  pid: number;
}

/** The text of the first <title> element, whitespace collapsed. */
export function extractTitle(html: string): string {
  const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  return m ? m[1]!.replace(/\s+/g, ' ').trim() : '(no title)';
}

/** Fetch one page and append its title to the shared list. Runs in a pool worker. */
export async function fetchTitle(url: string, titles: ListProxy<TitleEntry>): Promise<void> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  await titles.append({ url, title: extractTitle(await res.text()), pid: process.pid });
}

/** Serve the files of `dir` on 127.0.0.1 at a free port; counts the requests it answers. */
async function serveDirectory(dir: string): Promise<{ server: Server; base: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const name = (req.url ?? '/').slice(1);
    if (!/^[\w-]+\.html$/.test(name)) {
      res.writeHead(404).end('not found');
      return;
    }
    readFile(join(dir, name)).then(
      (body) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, requests: () => requests };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'multiproc-09-'));
  const adjectives = ['Quiet', 'Rapid', 'Golden', 'Hidden', 'Northern', 'Patient'];
  const nouns = ['River', 'Falcon', 'Library', 'Harbor', 'Engine', 'Garden', 'Lantern'];
  const expected = new Set<string>();
  for (let i = 0; i < PAGES; i++) {
    const title = `Page ${i}: The ${adjectives[i % adjectives.length]} ${nouns[i % nouns.length]}`;
    expected.add(title);
    const html = `<!doctype html>\n<html><head><meta charset="utf-8">\n<title>\n  ${title}\n</title></head>\n<body><h1>${title}</h1><p>${'lorem ipsum '.repeat(50)}</p></body></html>\n`;
    await writeFile(join(dir, `page-${String(i).padStart(3, '0')}.html`), html);
  }
  const web = await serveDirectory(dir);
  try {
    const urls = Array.from({ length: PAGES }, (_, i) => `${web.base}/page-${String(i).padStart(3, '0')}.html`);
    console.log(`main pid ${currentProcess().pid}: serving ${PAGES} pages at ${web.base}`);

    const self = tasks<typeof import('./09-manager-list.ts')>(new URL(import.meta.url));
    const t0 = performance.now();
    await using manager = await Manager.start();
    // The manager is a child process of ours: activeChildren() (Python's active_children()) lists it.
    const managerPids = activeChildren().map((p) => `${p.name} pid ${p.pid}`);
    console.log(`  manager process: ${managerPids.join(', ')}, listening at ${JSON.stringify(manager.address)}`);
    const titles = await manager.list<TitleEntry>();
    {
      await using pool = new Pool(4);
      await pool.starmap(self.fetchTitle, urls.map((url) => [url, titles] as [string, ListProxy<TitleEntry>]));
    }
    const entries = await titles.toArray();
    const ms = performance.now() - t0;

    const perPid = new Map<number, number>();
    for (const e of entries) perPid.set(e.pid, (perPid.get(e.pid) ?? 0) + 1);
    for (const e of entries.slice(0, 5)) console.log(`  ${e.url.slice(web.base.length)} → ${JSON.stringify(e.title)} (pid ${e.pid})`);
    if (entries.length > 5) console.log(`  … ${entries.length - 5} more`);
    for (const [pid, n] of perPid) console.log(`  worker pid ${pid} appended ${n} title${n === 1 ? '' : 's'}`);
    console.log('  note: the counts differ: the pool hands the next page to whichever worker is free, and a worker that started first takes pages while others are still starting');
    const got = new Set(entries.map((e) => e.title));
    if (entries.length !== PAGES || [...expected].some((t) => !got.has(t))) throw new Error(`the list holds ${entries.length} entries; expected the ${PAGES} page titles`);
    console.log(`shared list holds ${entries.length} titles from ${perPid.size} workers; the server answered ${web.requests()} requests; ${ms.toFixed(0)} ms in all, start-up of the manager and the workers included`);
  } finally {
    web.server.closeAllConnections();
    await new Promise((resolve) => web.server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMainProcess()) await main();
