//! verity-store
