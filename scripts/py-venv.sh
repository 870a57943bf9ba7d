#!/usr/bin/env bash
# Creates the project-local Python venv `.venv` at the repository root (if missing) and
# installs the pinned packages the interoperability tests run: the OpenSSF
# `model-signing` reference implementation and `pyopenssl`, which it imports without
# declaring; and Google's `magika` file-type classifier on `onnxruntime`, the reference
# the tract-based magika runtime is compared with; and `schemathesis`, which holds the
# live node's HTTP API to its served OpenAPI document (with its validator `jsonschema-rs`,
# which the conformance test imports to check real ledger bodies). Idempotent: a venv that already has the pinned versions is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL_SIGNING_VERSION=1.1.1
PYOPENSSL_VERSION=26.4.0
MAGIKA_VERSION=1.0.3
ONNXRUNTIME_VERSION=1.32.0
NUMPY_VERSION=2.4.6
SCHEMATHESIS_VERSION=4.32.5
# schemathesis' JSON Schema validator, which the conformance test also imports itself.
JSONSCHEMA_RS_VERSION=0.60.3
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PINS=("model-signing==${MODEL_SIGNING_VERSION}" "pyopenssl==${PYOPENSSL_VERSION}" "magika==${MAGIKA_VERSION}"
  "onnxruntime==${ONNXRUNTIME_VERSION}" "numpy==${NUMPY_VERSION}" "schemathesis==${SCHEMATHESIS_VERSION}"
  "jsonschema-rs==${JSONSCHEMA_RS_VERSION}")
if .venv/bin/python - "${PINS[@]}" <<'PYEOF' 2>/dev/null; then
import sys
from importlib.metadata import version
ok = all(version(p.split("==")[0]) == p.split("==")[1] for p in sys.argv[1:])
sys.exit(0 if ok else 1)
PYEOF
  exit 0
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
