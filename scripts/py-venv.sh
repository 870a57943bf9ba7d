#!/usr/bin/env bash
# Creates the project-local Python venv `.venv` at the repository root (if missing) and
# installs the pinned packages the interoperability tests run: the OpenSSF
# `model-signing` reference implementation and `pyopenssl`, which it imports without
# declaring. Idempotent: a venv that already has the pinned versions is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL_SIGNING_VERSION=1.1.1
PYOPENSSL_VERSION=26.4.0
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if .venv/bin/python - "$MODEL_SIGNING_VERSION" "$PYOPENSSL_VERSION" <<'PYEOF' 2>/dev/null; then
import sys
from importlib.metadata import version
ok = version("model-signing") == sys.argv[1] and version("pyopenssl") == sys.argv[2]
sys.exit(0 if ok else 1)
PYEOF
  exit 0
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  "model-signing==${MODEL_SIGNING_VERSION}" "pyopenssl==${PYOPENSSL_VERSION}"
