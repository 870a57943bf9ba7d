//! Ledgers written by earlier binaries replay to the same state roots: every block's
//! state root is recomputed from genesis and compared with its header, and the final
//! root is pinned. A fixture is never regenerated in place (see its README.md).

mod common;

use common::*;

#[test]
fn the_ledger_of_2026_12_07_replays_to_its_state_roots() {
    let dir = scratch_copy("ledger-2026-12-07");
    let report = verity_json(&["replay", "--data-dir", dir.path().to_str().expect("utf-8")]);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["mismatches"], serde_json::json!([]), "{report}");
    assert_eq!(report["blocks"], 44, "{report}");
    assert_eq!(report["txs"], 44, "{report}");
    assert_eq!(
        report["final_state_root"], "1cd89ebfda83b42fa3be3bb32670113a5d67659f020a7b5c7439cdf751ef1ec6",
        "{report}"
    );
}

#[test]
fn the_governed_ledger_of_2026_12_08_replays_to_its_state_roots() {
    let dir = scratch_copy("ledger-2026-12-08");
    let report = verity_json(&["replay", "--data-dir", dir.path().to_str().expect("utf-8")]);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["mismatches"], serde_json::json!([]), "{report}");
    assert_eq!(report["blocks"], 145, "{report}");
    assert_eq!(report["txs"], 60, "{report}");
    assert_eq!(
        report["final_state_root"], "e1dbbb992df32f8d454fd7ee566c0a803dd365fa881c712639e83536fdd4b7ec",
        "{report}"
    );
}
