// The command line: one `phasesr` program, one file per subcommand under bin/commands/.
import { Command } from 'commander';
import { infoCommand } from './commands/info';
import { sampleCommand } from './commands/sample';
import { serveCommand } from './commands/serve';
import { batchCommand } from './commands/batch';
import { srCommand } from './commands/sr';
import { startCommand } from './commands/start';
import { exportCommand } from './commands/export';
import { initCommand } from './commands/init';
import { evalCommand } from './commands/eval';
import { trainCommand } from './commands/train';
import { fijiInstallCommand } from './commands/fiji-install';
import { reportAndExit } from './fail';

const program = new Command('phasesr')
  .description('Super-resolution of phase contrast microscopy images (CRGAN with diffraction pattern filters)')
  .showHelpAfterError()
  .addCommand(srCommand())
  .addCommand(serveCommand())
  .addCommand(batchCommand())
  .addCommand(infoCommand())
  .addCommand(sampleCommand())
  .addCommand(exportCommand())
  .addCommand(initCommand())
  .addCommand(trainCommand())
  .addCommand(evalCommand())
  .addCommand(fijiInstallCommand())
  .addCommand(startCommand());

program.parseAsync(process.argv).catch(reportAndExit);
