#!/usr/bin/env bash
# Fetches Google's magika file-type classifier (Apache-2.0) from the `magika` 1.0.3
# wheel on PyPI and lays out the three files Verity's runtime reads:
#
#   DEST/model.onnx                  magika/models/standard_v3_3/model.onnx
#   DEST/config.min.json             magika/models/standard_v3_3/config.min.json
#   DEST/content_types_kb.min.json   magika/config/content_types_kb.min.json
#
# DEST defaults to models/magika at the repository root. The wheel and each file are
# checked against pinned SHA-256 digests; an existing DEST with the right files is left
# alone. The model files are the same in every platform's wheel; the x86-64 one is
# pinned so the digest check holds on any machine.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${1:-models/magika}"
VERSION=1.0.3
WHEEL="magika-${VERSION}-py3-none-manylinux_2_28_x86_64.whl"
WHEEL_SHA256=3e9b49134e8116ee40b431664dcbed9e199413efddcce1a173c734b4e0521529
FILES="model.onnx=magika/models/standard_v3_3/model.onnx=fe2d2eb49c5f88a9e0a6c048e15d6ffdf86235519c2afc535044de433169ec8c
config.min.json=magika/models/standard_v3_3/config.min.json=ae24c742205358f6ff6dfd5facb6743fb69743dbba8373e73da58ff0cbd695db
content_types_kb.min.json=magika/config/content_types_kb.min.json=75208adba69bc0556403b62b32ef3ccf8b5ce494411780845852e52e6583a10d"
PY="${PYTHON:-python3}"

have_all() {
  while IFS='=' read -r name _ sha; do
    [ -f "$DEST/$name" ] || return 1
    [ "$(sha256sum "$DEST/$name" | cut -d' ' -f1)" = "$sha" ] || return 1
  done <<< "$FILES"
}
if have_all; then
  exit 0
fi

cache="${VERITY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/verity}/wheels"
mkdir -p "$cache"
if [ ! -f "$cache/$WHEEL" ] || [ "$(sha256sum "$cache/$WHEEL" | cut -d' ' -f1)" != "$WHEEL_SHA256" ]; then
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 "magika==${VERSION}" -d "$cache"
fi
got="$(sha256sum "$cache/$WHEEL" | cut -d' ' -f1)"
if [ "$got" != "$WHEEL_SHA256" ]; then
  echo "fetch-magika: $WHEEL has SHA-256 $got, expected $WHEEL_SHA256" >&2
  exit 1
fi
mkdir -p "$DEST"
"$PY" - "$cache/$WHEEL" "$DEST" "$FILES" <<'PYEOF'
import hashlib, os, sys, zipfile
wheel, dest, spec = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(wheel) as z:
    for line in spec.splitlines():
        name, member, sha = line.split("=")
        data = z.read(member)
        got = hashlib.sha256(data).hexdigest()
        if got != sha:
            sys.exit(f"fetch-magika: {member} has SHA-256 {got}, expected {sha}")
        tmp = os.path.join(dest, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(dest, name))
PYEOF
echo "fetch-magika: magika ${VERSION} model in $DEST"
