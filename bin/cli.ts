// The command line: one `phasesr` program, one file per subcommand under bin/commands/.
import { Command, type CommanderError } from 'commander';
import { infoCommand } from './commands/info';
import { sampleCommand } from './commands/sample';
import { serveCommand } from './commands/serve';
import { workerCommand } from './commands/worker';
import { batchCommand } from './commands/batch';
import { srCommand } from './commands/sr';
import { startCommand } from './commands/start';
import { exportCommand } from './commands/export';
import { initCommand } from './commands/init';
import { evalCommand } from './commands/eval';
import { calibrateCommand } from './commands/calibrate';
import { averageCommand } from './commands/average';
import { trainCommand } from './commands/train';
import { fijiInstallCommand } from './commands/fiji-install';
import { EXIT_USAGE, reportAndExit } from './fail';

const program = new Command('phasesr')
  .description('Super-resolution of phase contrast microscopy images (CRGAN with diffraction pattern filters)')
  .showHelpAfterError()
  .addCommand(srCommand())
  .addCommand(serveCommand())
  .addCommand(workerCommand())
  .addCommand(batchCommand())
  .addCommand(infoCommand())
  .addCommand(sampleCommand())
  .addCommand(exportCommand())
  .addCommand(initCommand())
  .addCommand(trainCommand())
  .addCommand(evalCommand())
  .addCommand(calibrateCommand())
  .addCommand(averageCommand())
  .addCommand(fijiInstallCommand())
  .addCommand(startCommand());

// Commander exits 1 on a bad option or argument: every command's usage errors exit 2 instead (it has
// already printed the error); --help and --version stay 0.
const usageExit = (err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
for (const c of [program, ...program.commands]) c.exitOverride(usageExit);

program.parseAsync(process.argv).catch(reportAndExit);
