#!/usr/bin/env bash
# The browser the dashboard's browser tests drive (test/daemon/dashboard.browser.test.ts):
# Debian's `chromium`, driven by puppeteer-core (which downloads no browser of its own).
# Called by .ci/run before the tests. Installs chromium with apt-get when it is missing and
# this machine can (root, or password-less sudo); otherwise says so and exits 0: the browser
# tests then skip with a message naming what to install. POOLSYNC_CHROMIUM names another binary.
# Also the terminal the prompt test drives (test/cli/prompt-terminal.test.ts): tmux, the same way.
set -uo pipefail

if ! command -v tmux >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "terminal tests: installing Debian's tmux with apt-get"
  tmux_apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq)
  "${tmux_apt[@]}" update && "${tmux_apt[@]}" install -y --no-install-recommends tmux >/dev/null ||
    echo "terminal tests: apt-get could not install tmux: the prompt test will be skipped"
fi

for candidate in "${POOLSYNC_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "browser tests: using $candidate ($("$candidate" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
  fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "browser tests: no chromium and no apt-get: the browser tests will be skipped (install Chromium and set POOLSYNC_CHROMIUM)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "browser tests: no chromium, and installing it needs root: the browser tests will be skipped (sudo apt-get install chromium)"
  exit 0
fi

echo "browser tests: installing Debian's chromium with apt-get"
# Wait for another apt/dpkg run rather than fail on its lock.
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq)
if "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends chromium >/dev/null; then
  echo "browser tests: installed $(/usr/bin/chromium --version 2>/dev/null)"
else
  echo "browser tests: apt-get could not install chromium: the browser tests will be skipped"
fi
exit 0
