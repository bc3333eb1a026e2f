/**
 * The process environment as the layers below the CLI and the daemon receive it: passed down
 * from the entry point (`Io.env`), never read from the process (test/layout/process-env.test.ts),
 * so two in-process runs with different environments can overlap.
 */
export type Env = Readonly<Record<string, string | undefined>>;
