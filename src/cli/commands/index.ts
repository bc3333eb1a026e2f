import type { CommandModule } from 'yargs';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<any, any>;

/**
 * Every command of the CLI, each in its own module beside this one, loaded on demand: a
 * command pulls in only what it uses (`plan` never loads the daemon's HTTP, Git and metrics
 * libraries), which keeps start-up short.
 */
export const COMMANDS: Record<string, () => Promise<AnyCommand>> = {
  apply: async () => (await import('./apply.js')).applyCommand,
  approve: async () => (await import('./approve.js')).approveCommand,
  completion: async () => (await import('./completion.js')).completionCommand,
  'control-plane': async () => (await import('./control-plane.js')).controlPlaneCommand,
  daemon: async () => (await import('./daemon.js')).daemonCommand,
  export: async () => (await import('./export.js')).exportCommand,
  import: async () => (await import('./import.js')).importCommand,
  plan: async () => (await import('./plan.js')).planCommand,
  render: async () => (await import('./render.js')).renderCommand,
  show: async () => (await import('./show.js')).showCommand,
  validate: async () => (await import('./validate.js')).validateCommand,
};

/** The invoked command alone when argv names one; all of them for help, typos or nothing. */
export async function loadCommands(argv: readonly string[]): Promise<AnyCommand[]> {
  const first = argv.find((a) => !a.startsWith('-'));
  const named = first !== undefined ? COMMANDS[first] : undefined;
  if (named && !argv.includes('--help') && !argv.includes('-h')) return [await named()];
  return Promise.all(Object.values(COMMANDS).map((load) => load()));
}
