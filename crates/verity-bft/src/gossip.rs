//! Transaction forwarding: a transaction admitted by one validator reaches every other
//! validator's mempool, so whichever validator leads the next view can propose it.
//!
//! A validator sends what its clients submitted (never what peers sent it) to all
//! peers, batched: whatever accumulated while the previous batch was being sent goes
//! out as one message. Receivers admit forwarded transactions like their own clients'
//! (chain, signature, nonce and balance checks), so a Byzantine peer cannot put a
//! transaction with a bad signature into an honest proposer's block; and because
//! admission verified the signature, block verification does not verify it again
//! (see [`crate::ledger::TxSource::verified`]).

use std::sync::Arc;

use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Spawner, Supervisor};
use futures::channel::mpsc;
use futures::StreamExt;
use verity_types::SignedTransaction;

/// What receives forwarded transactions (the node's admission).
pub type Inbox = Arc<dyn Fn(Vec<SignedTransaction>) + Send + Sync>;

/// Encodes `txs` as messages of at most `max_bytes` each (a transaction larger than
/// that, which admission's size limits rule out, goes alone).
pub fn encode(txs: &[SignedTransaction], max_bytes: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 4usize;
    for (i, tx) in txs.iter().enumerate() {
        let len = borsh::object_length(tx).unwrap_or(usize::MAX);
        if i > start && size.saturating_add(len) > max_bytes {
            out.push(verity_types::encoding::encode(&txs[start..i]));
            start = i;
            size = 4;
        }
        size = size.saturating_add(len);
    }
    if start < txs.len() {
        out.push(verity_types::encoding::encode(&txs[start..]));
    }
    out
}

/// Decodes one message: a list of transactions, or an error for bytes that are not one.
/// Each transaction gets the checks a client's submission gets at decoding
/// ([`SignedTransaction::validate`]: size, sender id, the action's stateless checks);
/// one that fails them is dropped, with its reason, and the others kept.
pub fn decode(
    bytes: &[u8],
) -> Result<(Vec<SignedTransaction>, Vec<verity_types::TypesError>), verity_types::TypesError> {
    let txs: Vec<SignedTransaction> = verity_types::encoding::decode(bytes, bytes.len())?;
    let mut refused = Vec::new();
    let txs = txs
        .into_iter()
        .filter(|t| match t.validate() {
            Ok(()) => true,
            Err(e) => {
                refused.push(e);
                false
            }
        })
        .collect();
    Ok((txs, refused))
}

/// Starts forwarding: `outbox` carries this validator's newly admitted transactions,
/// `inbox` admits those its peers forward. Both loops run on dedicated threads of `ctx`
/// (admission verifies signatures, which must not stall the consensus actors).
pub fn start<E, S, R>(
    ctx: E,
    (mut sender, mut receiver): (S, R),
    mut outbox: mpsc::UnboundedReceiver<Vec<SignedTransaction>>,
    inbox: Inbox,
    max_bytes: usize,
) where
    E: Spawner + Supervisor,
    S: Sender,
    R: Receiver,
{
    ctx.child("gossip_out").spawn(move |_| async move {
        while let Some(mut batch) = outbox.next().await {
            while let Ok(more) = outbox.try_recv() {
                batch.extend(more);
            }
            for msg in encode(&batch, max_bytes) {
                let _ = sender.send(Recipients::All, msg, false);
            }
        }
    });
    ctx.child("gossip_in").dedicated().spawn(move |_| async move {
        while let Ok((peer, msg)) = receiver.recv().await {
            match decode(msg.as_ref()) {
                Ok((txs, refused)) => {
                    for e in refused {
                        tracing::warn!(%peer, error = %e, "forwarded transaction refused at decoding");
                    }
                    inbox(txs)
                }
                Err(e) => tracing::warn!(%peer, error = %e, "undecodable forwarded transactions"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_types::keys::SecretKey;
    use verity_types::{AccountId, Action, AssetId, Transaction};
    use verity_types::{Burn, Transfer};

    fn tx(nonce: u64) -> SignedTransaction {
        Transaction {
            chain_id: "c".into(),
            sender: AccountId::new("a").expect("id"),
            nonce,
            action: Action::Burn(Burn { asset: AssetId::new("usd").expect("id"), amount: 1 }),
        }
        .sign(&SecretKey::from_seed([7; 32]))
    }

    #[test]
    fn batches_split_under_the_size_limit_and_round_trip() {
        let txs: Vec<SignedTransaction> = (0..100).map(tx).collect();
        let one = borsh::object_length(&txs[0]).expect("length");
        let msgs = encode(&txs, 10 * one + 4);
        assert_eq!(msgs.len(), 10);
        assert!(msgs.iter().all(|m| m.len() <= 10 * one + 4));
        let back: Vec<SignedTransaction> = msgs.iter().flat_map(|m| decode(m).expect("decodes").0).collect();
        assert_eq!(back, txs);
        assert!(decode(&msgs[0][..msgs[0].len() - 1]).is_err(), "a truncated message is refused");
        assert!(decode(&[0xff, 0xff, 0xff, 0xff]).is_err(), "a huge count with no bytes is refused");
    }

    /// A peer's forwarded list gets the per-transaction checks a client's submission
    /// gets: an oversized memo (above the action's limit) or an invalid sender id is
    /// dropped, with its reason, and the rest admitted.
    #[test]
    fn forwarded_transactions_get_the_per_transaction_checks() {
        let mut big = tx(1);
        big.tx.action = Action::Transfer(Transfer {
            to: AccountId::new("b").expect("id"),
            asset: AssetId::new("usd").expect("id"),
            amount: 1,
            memo: "x".repeat(verity_types::limits::MEMO_BYTES_MAX + 1),
        });
        let mut bad_sender = tx(2);
        // Ids validate when parsed, not when decoded: borsh gives any string.
        bad_sender.tx.sender =
            borsh::from_slice(&borsh::to_vec(&"Not An Id!".to_string()).expect("encodes")).expect("decodes");
        let msg = verity_types::encoding::encode(&vec![tx(0), big, bad_sender, tx(3)]);
        let (kept, refused) = decode(&msg).expect("the list decodes");
        assert_eq!(kept, vec![tx(0), tx(3)]);
        assert_eq!(refused.len(), 2);
        assert!(matches!(refused[0], verity_types::TypesError::TooLarge { what: "memo", .. }), "{:?}", refused[0]);
    }
}
