#!/usr/bin/env bash
# Sets up everything edgeneuro needs on a Debian 12 machine: the Arm cross compiler, newlib and
# QEMU (installed with apt when missing; needs root), a project virtualenv (.venv) with the
# pinned Python packages of constraints.txt, and Renode 1.15.3 in .renode/ with `renode` and
# `renode-test` in .venv/bin. Safe to run again: it only does what is missing.
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
# Renode (the boards QEMU does not model): ../shared/renode/ holds a Renode build for Mono, for
# machines that cannot download the official release (see its README); that build needs Mono.
renode_version=1.15.3
renode_dir=.renode/renode-$renode_version
renode_tar=../shared/renode/renode-$renode_version-mono.tar.gz
renode_sha256=26cdc4ad2337b917f68bbf09973e5f5b8434b6817d8914ab5f4623fca7f51bfe
if ! command -v mono >/dev/null && { [ -e "$renode_dir/output/bin/Release/Renode.exe" ] ||
    { [ -e "$renode_tar" ] && [ ! -e "$renode_dir/renode" ] && ! command -v renode >/dev/null; }; }; then
    need+=(mono-complete)
fi
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
    .venv/bin/pip install -q -c constraints.txt -e '.[train,onnx,probe,scale,dev,renode]'
    echo "$want" > "$stamp"
fi

# Renode into .renode/ (ignored by git), unless it is installed already: the Mono build from
# ../shared/renode/ when it is there (checked against its sha256), else the official portable release.
if [ ! -e "$renode_dir/renode" ] && ! command -v renode >/dev/null; then
    rm -rf "$renode_dir.part" && mkdir -p "$renode_dir.part"
    if [ -e "$renode_tar" ]; then
        echo "setup: unpacking Renode $renode_version from $renode_tar"
        echo "$renode_sha256  $renode_tar" | sha256sum --check --quiet
        tar -xzf "$renode_tar" -C "$renode_dir.part" --strip-components=1
        mv "$renode_dir.part" "$renode_dir"
    elif curl -fsSL --connect-timeout 10 --max-time 600 -o .renode/portable.tar.gz \
        "https://github.com/renode/renode/releases/download/v$renode_version/renode-$renode_version.linux-portable.tar.gz"; then
        echo "setup: unpacking Renode $renode_version (official portable release)"
        tar -xzf .renode/portable.tar.gz -C "$renode_dir.part" --strip-components=1
        rm .renode/portable.tar.gz
        mv "$renode_dir.part" "$renode_dir"
    else
        rm -rf "$renode_dir.part" .renode/portable.tar.gz
        echo "setup: Renode is not installed and could not be downloaded; the Renode tests will skip." >&2
        echo "setup: install it from https://github.com/renode/renode/releases and put renode on PATH" >&2
    fi
fi
# renode-test runs its Robot Framework runner with the first python3 on PATH, so the wrapper puts the
# venv's (which has the renode extra's Robot Framework packages) first.
if [ -e "$renode_dir/renode" ] && [ ! -e .venv/bin/renode-test ]; then
    ln -sfn "../../$renode_dir/renode" .venv/bin/renode
    printf '#!/bin/sh\nPATH="$(dirname "$(readlink -f "$0")"):$PATH" exec "%s/renode-test" "$@"\n' \
        "$(pwd)/$renode_dir" > .venv/bin/renode-test
    chmod +x .venv/bin/renode-test
fi
renode="$(PATH=.venv/bin:$PATH command -v renode || echo none)"
echo "setup: ready ($(arm-none-eabi-gcc -dumpversion), $(qemu-system-arm --version | head -1), renode: $renode, $(.venv/bin/python --version))"
