//! verity-state
