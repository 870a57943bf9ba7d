//! verity-client
