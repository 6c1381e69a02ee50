#!/usr/bin/env bash
# The browser the web UI's tests drive (test/ui/): Debian's Chromium, run headless through
# playwright-core with executablePath /usr/bin/chromium. Never a browser downloaded by
# playwright: only Debian's package, installed by name after apt-get update.
set -euo pipefail
if ! dpkg -s chromium >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
/usr/bin/chromium --version
