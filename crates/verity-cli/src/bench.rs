//! `verity bench`, `verity load` and `verity demo`: runs verity-bench's commands and
//! prints their reports here, through this crate's printing (a closed stdout ends the
//! process quietly), then fails if the run did not meet its conditions.

use anyhow::Result;
use verity_bench::{demo, fingerprint, ingest, load as load_gen, network, proofs, trace, BenchCmd};

use crate::output::show;
use crate::Global;

pub fn run(g: &Global, cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Fingerprint(a) => {
            let r = fingerprint::bench_fingerprint(&a)?;
            show(g.json, &r, r.rows());
            if !g.json {
                for n in &r.notes {
                    eprintln!("note: {n}");
                }
            }
            Ok(())
        }
        BenchCmd::Network(a) => {
            let r = network::network(&a)?;
            show(g.json, &serde_json::to_value(&r)?, r.rows());
            Ok(())
        }
        BenchCmd::Trace(a) => {
            let r = trace::trace(&a)?;
            show(g.json, &r, r.rows());
            r.check()
        }
        BenchCmd::Proofs(a) => {
            let r = proofs::proofs(&a)?;
            show(g.json, &r, r.rows());
            Ok(())
        }
        BenchCmd::Ingest(a) => {
            let r = ingest::ingest(&a)?;
            show(g.json, &r, r.rows());
            r.check()
        }
    }
}

/// `verity load`: the keystore is `--keystore`, opened with its passphrase.
pub fn load(g: &Global, a: &load_gen::LoadArgs) -> Result<()> {
    let ks = crate::commands::open_keystore(g)?;
    let r = load_gen::run(&g.node, &ks, a)?;
    // Through a JSON value, whose keys serde_json sorts: the order `verity load` printed them in before.
    show(g.json, &serde_json::to_value(&r)?, r.rows());
    r.check()
}

/// `verity demo`: its narration goes to stdout.
pub fn demo(a: &demo::DemoArgs) -> Result<()> {
    demo::run(a, |line| crate::output::write_stdout(line, true))
}
