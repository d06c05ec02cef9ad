// Preloaded by test/run.ts into the test run and every process it starts (NODE_OPTIONS):
// the suite provokes multiproc's own warnings on purpose (hostile peers, floods, stranded
// waits) and checks them through the diagnostics channel or a child's stderr; printed by
// every process, they would bury the results. So a MultiprocWarning is not printed unless
// MULTIPROC_TEST_WARNINGS=1; every other warning prints as Node prints it.
'use strict';
if (process.env.MULTIPROC_TEST_WARNINGS !== '1') {
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning && warning.name === 'MultiprocWarning') return;
    for (const print of printers) print(warning);
  });
}
