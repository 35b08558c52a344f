//! The load driver as a user runs it: the built binary against its in-process sink.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn the_driver_sends_otlp_to_a_sink_and_reports() {
    let out = Command::new(env!("CARGO_BIN_EXE_heimsight-bench"))
        .args([
            "--sink",
            "--protocol",
            "otlp-http",
            "--signal",
            "logs",
            "--batch",
            "100",
            "--concurrency",
            "2",
            "--pool",
            "4",
            "--duration",
            "1s",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("accepted of"), "{stdout}");
    assert!(stdout.contains("0 5xx, 0 transport errors"), "{stdout}");
}
