//! Command-line flags that belong to the binary, not the library: clap types that build the
//! library's plain option structs.

pub mod args;
pub mod browser;
pub mod options;
pub mod output;
pub mod progress;
pub mod rules;
pub mod shard;
