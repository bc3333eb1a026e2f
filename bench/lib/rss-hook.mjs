// Preloaded with `node --import` when GNU time is not installed: records this process's
// peak RSS (kilobytes) at exit into the file the benchmark runner names.
import { writeFileSync } from 'node:fs';

const file = process.env.POOLSYNC_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, String(process.resourceUsage().maxRSS));
  });
}
