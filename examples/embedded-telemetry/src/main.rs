//! Runs the embedded-telemetry example and prints what it read back from its own store.
//!
//! ```text
//! embedded-telemetry [DIR]    # DIR: the RocksDB directory; a temporary one when omitted
//! ```

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let tmp;
    let dir = match std::env::args_os().nth(1) {
        Some(d) => PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().context("creating a temporary directory")?;
            tmp.path().to_path_buf()
        }
    };
    let report = embedded_telemetry::run(&dir)?;
    print!("{report}");
    Ok(())
}
