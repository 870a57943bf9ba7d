"""Classifies files with the reference magika 1.0.3 (onnxruntime) and prints one JSON
object per file: path, dl label, output label, score and the model's raw scores.

Each file that needs the model is run alone (a batch of one), as Verity runs it:
onnxruntime's own scores for a file differ by up to ~3e-5 between a batch of many and
a batch of one, so a batched reference would measure onnxruntime, not Verity.
Usage: magika_oracle.py FILE..."""
import json
import sys

from magika import Magika
from magika.types.seekable import Seekable

m = Magika()
for p in sys.argv[1:]:
    with open(p, "rb") as f:
        decided, features = m._get_result_or_features_from_seekable(Seekable(f))
    if decided is not None:
        pred = decided.prediction
        out = {"dl": str(pred.dl.label), "output": str(pred.output.label), "score": float(pred.score), "scores": None}
    else:
        scores = m._get_raw_predictions([(p, features)])[0]
        best = max(range(len(scores)), key=scores.__getitem__)
        dl = m._target_labels_space[best]
        output, _ = m._get_output_label_from_dl_label_and_score(dl, scores[best])
        out = {"dl": str(dl), "output": str(output), "score": float(scores[best]), "scores": scores}
    out["path"] = p
    print(json.dumps(out))
