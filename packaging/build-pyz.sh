#!/bin/sh
# Build chatd as one file, chatd.pyz, that runs with only python3 on the target
# (docs/deployment.md#a-single-file): a zipapp made by shiv holding chatd and every
# dependency. Compiled parts (msgspec, argon2, nh3, Pillow) are for the machine that
# builds it: build on the same OS, CPU and Python minor version as the target
# (a Raspberry Pi builds its own).
#
#   packaging/build-pyz.sh [OUTPUT]      (default: dist/chatd.pyz)
#   python3 dist/chatd.pyz serve
set -eu
cd "$(dirname "$0")/.."
out="${1:-dist/chatd.pyz}"
mkdir -p "$(dirname "$out")"
python3 -m shiv --version >/dev/null 2>&1 || python3 -m pip install --quiet shiv
python3 -m shiv --console-script chatd --output-file "$out" --reproducible --compressed .
echo "built $out: run it with python3 $out serve"
