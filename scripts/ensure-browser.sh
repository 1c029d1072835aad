#!/bin/sh
# Makes sure headless Chromium and its WebDriver are installed for the console's browser tests
# (tests/service/browser.rs): Debian's `chromium` and `chromium-driver`, installed with apt-get
# when missing (as root, or through sudo). Prints nothing when both are there.
set -eu

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi

echo "installing Debian's chromium and chromium-driver for the browser tests" >&2
if [ "$(id -u)" = 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1; then
  as_root="sudo"
else
  echo "chromium and chromium-driver are missing and cannot be installed without root" >&2
  exit 1
fi
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >&2 || {
  $as_root apt-get update -q >&2
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >&2
}
