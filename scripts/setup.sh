#!/usr/bin/env bash
# Sets up everything edgeneuro needs on a Debian 12 machine: the Arm cross compiler, newlib and
# QEMU (installed with apt when missing; needs root), and a project virtualenv (.venv) with the
# pinned Python packages of constraints.txt. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v arm-none-eabi-gcc >/dev/null || need+=(gcc-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/libc_nano.a ] || need+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
# headless Chromium for the test that opens the HTML report page in a browser (tests/test_report.py)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need[*]}"
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

stamp=.venv/.setup-stamp
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: creating .venv with the pinned Python packages"
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -c constraints.txt -e '.[train,onnx,probe,scale,dev]'
    echo "$want" > "$stamp"
fi
echo "setup: ready ($(arm-none-eabi-gcc -dumpversion), $(qemu-system-arm --version | head -1), $(.venv/bin/python --version))"
