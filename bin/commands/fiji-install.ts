// `phasesr fiji-install PATH`: puts the Fiji/ImageJ bridge macro into a Fiji.app or ImageJ folder, where it
// shows as Plugins › PhaseSR › PhaseSR Super Resolve.
import { Command } from 'commander';

export function fijiInstallCommand(): Command {
  return new Command('fiji-install')
    .description('install the Fiji/ImageJ menu command Plugins › PhaseSR › PhaseSR Super Resolve')
    .argument('<folder>', 'the Fiji.app folder (or an ImageJ folder with plugins/, e.g. ~/.imagej)')
    .addHelpText(
      'after',
      `
Example:
  phasesr fiji-install ~/Fiji.app
  then restart Fiji (or Help › Refresh Menus), start the server with \`npx phasesr serve\`,
  open an image and choose Plugins › PhaseSR › PhaseSR Super Resolve. Details: fiji-bridge/README.md`,
    )
    .action(async (folder: string) => {
      const { installMacro, COMMAND, MENU_PATH } = await import('../../fiji-bridge/install');
      const r = await installMacro(folder);
      process.stdout.write(
        [
          `${r.replaced ? 'updated' : 'installed'} ${r.target}`,
          `(${r.folder}: ${r.evidence})`,
          '',
          'Next:',
          '  1. restart Fiji/ImageJ (or Help › Refresh Menus)',
          '  2. start the server once, in the phasesr folder: npx phasesr serve',
          `  3. open an image and choose ${MENU_PATH}`,
          `  in macros: run("${COMMAND}", "scale=8 server=http://127.0.0.1:8080");`,
          '',
        ].join('\n'),
      );
    });
}
