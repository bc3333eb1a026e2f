/**
 * Everything the CLI writes passes the process's redactor (src/util/secrets.ts): the known
 * secrets, their base64 forms and echoed `Bearer` tokens become `***` (URL user parts are
 * scrubbed in errors only: a plan's `abfs://container@account` URI is no secret), in
 * errors, warnings, apply reports and plans alike, as the daemon does for its logs and
 * /status. One choke point, so no message path (a server's error text quoted in a step
 * failure, a git error) can forget it.
 */
import { processRedactor } from '../util/secrets.js';

type Write = typeof process.stdout.write;

function scrubbing(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text =
      typeof chunk === 'string'
        ? chunk
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk).toString('utf8')
          : null;
    return write(text === null ? chunk : processRedactor().scrubSecrets(text), ...rest);
  }) as Write;
}

let installed = false;

export function redactOutput(): void {
  if (installed) return;
  installed = true;
  scrubbing(process.stdout);
  scrubbing(process.stderr);
}
