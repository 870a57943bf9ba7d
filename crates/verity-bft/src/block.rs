//! A Verity block as the consensus engine's block type.

use bytes::BufMut;
use commonware_codec::{varint::UInt, Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use commonware_consensus::types::Height;
use commonware_cryptography::Digestible;
use verity_types::encoding::{decode, encode};
use verity_types::{Block, Genesis, Hash};

use crate::{digest, Digest};

/// What the engine orders: the chain's genesis (height 0, only ever the anchor) or a
/// Verity block.
///
/// Encoding (canonical: decoding then encoding gives the same bytes): a tag byte, then
/// for the genesis its 32-byte hash, for a block the varint length and the block's
/// borsh bytes (the ledger's one canonical encoding). The digest is the genesis hash or
/// the block's header hash, so the engine's finalized payload is the header hash every
/// Verity proof and checkpoint refers to, and `parent` is the header's `parent` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerBlock {
    Genesis(Hash),
    Block(Box<Block>),
}

const TAG_GENESIS: u8 = 0;
const TAG_BLOCK: u8 = 1;

impl LedgerBlock {
    /// The anchor block of a chain.
    pub fn genesis(genesis: &Genesis) -> Self {
        LedgerBlock::Genesis(genesis.hash())
    }

    /// The header hash (or genesis hash): the digest as a Verity hash.
    pub fn hash(&self) -> Hash {
        match self {
            LedgerBlock::Genesis(h) => *h,
            LedgerBlock::Block(b) => b.header.hash(),
        }
    }

    /// The Verity block, unless this is the genesis anchor.
    pub fn block(&self) -> Option<&Block> {
        match self {
            LedgerBlock::Genesis(_) => None,
            LedgerBlock::Block(b) => Some(b),
        }
    }
}

impl Write for LedgerBlock {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            LedgerBlock::Genesis(h) => {
                buf.put_u8(TAG_GENESIS);
                buf.put_slice(h.as_bytes());
            }
            LedgerBlock::Block(b) => {
                buf.put_u8(TAG_BLOCK);
                let bytes = encode(b.as_ref());
                UInt(bytes.len() as u64).write(buf);
                buf.put_slice(&bytes);
            }
        }
    }
}

impl EncodeSize for LedgerBlock {
    fn encode_size(&self) -> usize {
        match self {
            LedgerBlock::Genesis(_) => 1 + 32,
            LedgerBlock::Block(b) => {
                // Counted, not encoded: `write` is the one place that encodes.
                let n = borsh::object_length(b.as_ref()).expect("a block's encoding has a length");
                1 + UInt(n as u64).encode_size() + n
            }
        }
    }
}

impl Read for LedgerBlock {
    /// The largest encoded block accepted, in bytes.
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, max: &usize) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            TAG_GENESIS => {
                let mut h = [0u8; 32];
                if buf.remaining() < 32 {
                    return Err(CodecError::EndOfBuffer);
                }
                buf.copy_to_slice(&mut h);
                Ok(LedgerBlock::Genesis(Hash(h)))
            }
            TAG_BLOCK => {
                let n: u64 = UInt::read(buf)?.into();
                let n = usize::try_from(n).map_err(|_| CodecError::InvalidLength(usize::MAX))?;
                if n > *max {
                    return Err(CodecError::InvalidLength(n));
                }
                if buf.remaining() < n {
                    return Err(CodecError::EndOfBuffer);
                }
                let mut bytes = vec![0u8; n];
                buf.copy_to_slice(&mut bytes);
                let block: Block = decode(&bytes, n).map_err(|_| CodecError::Invalid("LedgerBlock", "not a block"))?;
                // Borsh is canonical for these types; re-encoding guards the invariant.
                if encode(&block) != bytes {
                    return Err(CodecError::Invalid("LedgerBlock", "not the canonical encoding"));
                }
                Ok(LedgerBlock::Block(Box::new(block)))
            }
            t => Err(CodecError::InvalidEnum(t)),
        }
    }
}

impl Digestible for LedgerBlock {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        digest(&self.hash())
    }
}

impl commonware_consensus::Heightable for LedgerBlock {
    fn height(&self) -> Height {
        Height::new(match self {
            LedgerBlock::Genesis(_) => 0,
            LedgerBlock::Block(b) => b.header.height,
        })
    }
}

impl commonware_consensus::Block for LedgerBlock {
    fn parent(&self) -> Digest {
        match self {
            // The anchor has no parent; the all-zero digest names none.
            LedgerBlock::Genesis(_) => commonware_cryptography::sha256::Digest([0; 32]),
            LedgerBlock::Block(b) => digest(&b.header.parent),
        }
    }
}
