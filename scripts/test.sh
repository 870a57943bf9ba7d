#!/usr/bin/env bash
# Runs the whole test suite: unit, property, integration (real node processes on
# loopback, HTTP), the kill -9 crash test, the model-signing interoperability test,
# the magika comparison with the reference and the schemathesis run of a live node
# against its OpenAPI document. Creates the project-local Python venv `.venv` first
# (scripts/py-venv.sh: pinned model-signing, pyopenssl, magika, onnxruntime,
# schemathesis) and fetches the magika model (scripts/fetch-magika.sh, pinned digests);
# cargo fetches the pinned crates on first use.
# VERITY_SKIP_PY_INTEROP=1 skips the venv, the model and the tests that need them.
#
# VERITY_TEST_LONG=1 runs the slow suites in their long mode (more proptest cases,
# a longer crash test, 1000 consensus-simulation seeds per scenario instead of 32,
# 200 schemathesis test cases per API operation instead of 20);
# CI runs the bounded default.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${VERITY_SKIP_PY_INTEROP:-0}" != 1 ]; then
  scripts/py-venv.sh
  scripts/fetch-magika.sh
fi
export PROPTEST_CASES="${PROPTEST_CASES:-$([ "${VERITY_TEST_LONG:-0}" = 1 ] && echo 2048 || echo 128)}"
# Consensus simulation seeds per scenario (crates/verity-bft/tests/sim.rs).
export VERITY_SIM_SEEDS="${VERITY_SIM_SEEDS:-$([ "${VERITY_TEST_LONG:-0}" = 1 ] && echo 1000 || echo 32)}"
# Schemathesis test cases per API operation (crates/verity-cli/tests/conformance.rs).
export VERITY_CONFORMANCE_EXAMPLES="${VERITY_CONFORMANCE_EXAMPLES:-$([ "${VERITY_TEST_LONG:-0}" = 1 ] && echo 200 || echo 20)}"
if command -v cargo-nextest >/dev/null 2>&1; then
  # nextest does not run doctests; run them first so nextest's summary closes the run.
  cargo test --workspace --locked --doc
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
