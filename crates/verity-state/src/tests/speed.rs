//! Execution cost of a block of transfers, for profiling (`cargo test --release -p
//! verity-state -- --ignored --nocapture execution_speed`). Prints, asserts only results.

use verity_types::{Role, TxStatus};

use crate::testkit::*;
use crate::{execute_block, BlockContext};

#[test]
#[ignore = "timing probe; run in release with --ignored --nocapture"]
fn execution_speed() {
    let mut c = Chain::new();
    let n = 2000usize;
    let names: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
    let mut setup = Vec::new();
    let mut nonce = c.next_nonce("admin");
    for name in &names {
        setup.push(sign("admin", nonce, create(name, "acme", &[Role::Member])));
        setup.push(sign("admin", nonce + 1, transfer(name, "usd", 10)));
        nonce += 2;
    }
    c.block(&setup);
    let txs: Vec<_> =
        (0..2 * n).map(|i| sign(&names[i % n], (i / n) as u64, transfer(&names[(i + 1) % n], "usd", 1))).collect();
    let ctx = BlockContext { chain_id: CHAIN.into(), height: 9, timestamp_ms: 0 };
    let t = std::time::Instant::now();
    let out = execute_block(&c.state, &ctx, &txs, 0);
    let el = t.elapsed();
    assert!(out.receipts.iter().all(|r| r.status == TxStatus::Success));
    println!(
        "{} transfers executed in {:?} ({:.2} us/tx), {} writes",
        txs.len(),
        el,
        el.as_secs_f64() * 1e6 / txs.len() as f64,
        out.writes.len()
    );
}
