"""Prints model_signing's in-toto payload (subject digest, serialization, resources)
for a model path, as JSON on stdout. Used by the interoperability tests and by
`verity bench fingerprint` to run the reference implementation on the same input.

usage: oms_fingerprint.py PATH [--hash sha256|blake3] [--shard-size N] [--time]
"""

import argparse
import json
import sys
import time

from google.protobuf import json_format
import model_signing
from model_signing._signing import signing


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--hash", default="sha256")
    parser.add_argument("--shard-size", type=int, default=None)
    args = parser.parse_args()

    config = model_signing.hashing.Config()
    if args.shard_size is None:
        config.use_file_serialization(hashing_algorithm=args.hash)
    else:
        config.use_shard_serialization(
            hashing_algorithm=args.hash, shard_size=args.shard_size
        )
    started = time.perf_counter()
    manifest = config.hash(args.path)
    seconds = time.perf_counter() - started
    payload = signing.Payload(manifest)
    statement = json.loads(json_format.MessageToJson(payload.statement.pb))
    json.dump({"statement": statement, "seconds": seconds}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
