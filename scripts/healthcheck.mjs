/**
 * The image's health check (Dockerfile HEALTHCHECK; `podman run --health-cmd` for an OCI-format
 * build, which drops HEALTHCHECK): exit 0 when the daemon in this container answers
 * GET /healthz with 200, else 1. The port is POOLSYNC_LISTEN's (the image sets 0.0.0.0:8080).
 */
import { get } from 'node:http';

const port = (process.env.POOLSYNC_LISTEN ?? '').split(':').pop() || '8080';
get({ host: '127.0.0.1', port, path: '/healthz', timeout: 4000 }, (res) =>
  process.exit(res.statusCode === 200 ? 0 : 1),
)
  .on('timeout', () => process.exit(1))
  .on('error', () => process.exit(1));
