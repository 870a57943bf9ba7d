//! Reading committed state and layering uncommitted writes on top of it.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};

/// Read access to committed state (the node implements it over the store).
///
/// `get` may be called any number of times, in any order, while a block executes; it
/// must return the same value for the same key throughout (the view is a snapshot of
/// one committed height). A failing backend must stop the process rather than answer
/// `None`, because a wrong answer would make execution diverge between nodes.
pub trait StateRead {
    /// The value stored under `key`, if any.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
}

/// Writes produced by executing a block (or building genesis): the last value written
/// per key, in key order. The state machine never deletes a key.
pub type StateWrites = BTreeMap<Vec<u8>, Vec<u8>>;

/// Decodes the value under `key`. Values are written only by this crate, so a value
/// that does not decode is a broken invariant (a corrupted store), not a user error.
pub(crate) fn read<T: BorshDeserialize>(state: &dyn StateRead, key: &[u8]) -> Option<T> {
    state.get(key).map(|bytes| {
        borsh::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("state value under {:?} is not valid borsh: {e}", String::from_utf8_lossy(key)))
    })
}

/// Uncommitted writes layered over a parent view. Execution uses one layer per block
/// over the committed state and one layer per transaction over the block's layer, so
/// a failed action is discarded by dropping its layer.
pub(crate) struct Layer<'a> {
    parent: &'a dyn StateRead,
    writes: StateWrites,
}

impl<'a> Layer<'a> {
    pub(crate) fn new(parent: &'a dyn StateRead) -> Self {
        Layer { parent, writes: StateWrites::new() }
    }

    /// Writes the canonical encoding of `value` under `key`.
    pub(crate) fn put<T: BorshSerialize>(&mut self, key: Vec<u8>, value: &T) {
        self.writes.insert(key, verity_types::encoding::encode(value));
    }

    /// Moves the writes of a child layer into this one (the child succeeded).
    pub(crate) fn merge(&mut self, writes: StateWrites) {
        self.writes.extend(writes);
    }

    pub(crate) fn into_writes(self) -> StateWrites {
        self.writes
    }
}

impl StateRead for Layer<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.writes.get(key) {
            Some(v) => Some(v.clone()),
            None => self.parent.get(key),
        }
    }
}

/// An in-memory state: a `BTreeMap` from key to value. Used by tests here and in the
/// node, and handy for tools that replay a few blocks without a store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemState(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl MemState {
    pub fn new() -> Self {
        MemState(BTreeMap::new())
    }

    /// Applies writes (for example a block's `BlockOutcome::writes`) on top.
    pub fn apply(&mut self, writes: StateWrites) {
        self.0.extend(writes);
    }

    /// Every key and value, in key order.
    pub fn entries(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.0
    }

    /// Checks conservation over the whole state: for every asset, the sum of balances
    /// plus open escrow amounts equals the recorded supply. Returns a description of
    /// the first violation found.
    pub fn check_conservation(&self) -> Result<(), String> {
        crate::bank::check_conservation(self.0.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
    }
}

impl From<StateWrites> for MemState {
    fn from(writes: StateWrites) -> Self {
        MemState(writes)
    }
}

impl StateRead for MemState {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
}
