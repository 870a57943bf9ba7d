//! verity-consensus
