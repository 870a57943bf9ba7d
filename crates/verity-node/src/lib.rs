//! verity-node
