/** Union's refusals as its services answer them: a gRPC status and the message. */
import { Code, ConnectError } from '@connectrpc/connect';

export const invalidArgument = (message: string) => new ConnectError(message, Code.InvalidArgument);

export const failedPrecondition = (message: string) =>
  new ConnectError(message, Code.FailedPrecondition);

export const alreadyExists = (message: string) => new ConnectError(message, Code.AlreadyExists);
