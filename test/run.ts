// The runner of `npm test`: uvu's own command line over test/*.test.ts, in colour only when
// stdout is a terminal.
//
// uvu's CLI turns colours on unless told otherwise, by setting FORCE_COLOR=1 in its own
// environment, which every child process a test starts inherits too. Piped into a file, a CI
// log or `tee`, a run was then full of escape codes. Deciding here, in the one command every
// way of running the suite goes through (npm test, .ci/run), keeps a terminal's colours and
// gives a pipe plain text on every platform (a shell test like `[ -t 1 ]` in package.json
// would not run under Windows' cmd). `--color` or `--no-color` given by hand still win; so
// does NO_COLOR, which uvu's colour library honours.
//
// It also keeps the MultiprocWarnings that tests provoke on purpose from being printed (see
// test/quiet-warnings.cjs): a clean run prints nothing but results.
//
// Run: npm test   (or: npx tsx test/run.ts [--bail] [--color|--no-color])
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bin = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
// MultiprocWarnings the suite provokes on purpose stay quiet, here and in every process the
// tests start (see test/quiet-warnings.cjs; MULTIPROC_TEST_WARNINGS=1 shows them).
const quiet = fileURLToPath(new URL('./quiet-warnings.cjs', import.meta.url));
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(quiet)}`.trim();
createRequire(import.meta.url)(quiet);
const extra = process.argv.slice(2);
const colour = extra.includes('--color') || extra.includes('--no-color') ? [] : process.stdout.isTTY ? [] : ['--no-color'];
// uvu's CLI reads process.argv when it is loaded: the directory, the file pattern, then flags.
process.argv = [process.argv[0]!, bin, 'test', '\\.test\\.ts$', ...colour, ...extra];
await import(pathToFileURL(bin).href);
