//! Runs the real example binary and checks what it printed, and the library function it uses.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use heimsight_core::StatusCode;

fn run_binary(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_embedded-telemetry"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_binary_prints_its_own_telemetry() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_binary(&[dir.path().as_os_str()]);
    let lines: Vec<&str> = out.lines().collect();

    // 3 orders: handle_order + reserve_stock + charge_card (+ send_confirmation if paid).
    assert!(
        out.contains("recorded: 14 log records and 11 spans (0 dropped, 0 failed writes)"),
        "{out}"
    );
    assert!(out.contains("logs of this run: 14"), "{out}");
    assert!(out.contains("error logs: 1\n"), "{out}");
    let error_line = lines
        .iter()
        .find(|l| l.contains("ERROR payment declined"))
        .unwrap();
    assert!(error_line.contains("amount_cents=1250"), "{error_line}");
    assert!(error_line.contains("reason=card expired"), "{error_line}");

    // The declined order's trace: the root and its two children, indented under it.
    let trace_line = lines.iter().find(|l| l.starts_with("trace ")).unwrap();
    assert!(trace_line.contains(": 3 spans"), "{out}");
    assert!(trace_line.ends_with("4 log records"), "{out}");
    let trace_id = trace_line[6..38].to_string();
    assert!(error_line.ends_with(&format!("trace={trace_id}")), "{out}");
    let tree: Vec<&str> = lines
        .iter()
        .skip_while(|l| !l.starts_with("trace "))
        .skip(1)
        .copied()
        .collect();
    assert_eq!(tree.len(), 3, "{out}");
    assert!(tree[0].starts_with("  handle_order  "), "{out}");
    assert!(tree[0].contains("status=error"), "{out}");
    assert!(tree[0].contains("order_id=1002"), "{out}");
    assert!(tree[1].starts_with("    reserve_stock  "), "{out}");
    assert!(tree[2].starts_with("    charge_card  "), "{out}");
    assert!(tree[2].contains("status=error (payment declined)"), "{out}");

    // The store outlives the process: a second run finds only its own logs among the old.
    let again = run_binary(&[dir.path().as_os_str()]);
    assert!(again.contains("logs of this run: 14"), "{again}");
    assert!(again.contains("error logs: 1\n"), "{again}");
}

#[test]
fn the_binary_uses_a_temporary_directory_without_an_argument() {
    let out = run_binary(&[]);
    assert!(out.contains("error logs: 1\n"), "{out}");
}

#[test]
fn run_reads_back_the_trace_with_its_tree() {
    let dir = tempfile::tempdir().unwrap();
    let report = embedded_telemetry::run(dir.path()).unwrap();
    assert_eq!(report.error_logs.len(), 1);
    let err = &report.error_logs[0];
    assert_eq!(err.service, embedded_telemetry::SERVICE);
    assert_eq!(err.trace_id, Some(report.trace_id));

    let by = |n: &str| report.trace.iter().find(|s| s.name == n).unwrap();
    let root = by("handle_order");
    let charge = by("charge_card");
    let reserve = by("reserve_stock");
    assert_eq!(root.parent_span_id, None);
    assert_eq!(charge.parent_span_id, Some(root.span_id));
    assert_eq!(reserve.parent_span_id, Some(root.span_id));
    assert_eq!(err.span_id, Some(charge.span_id));
    assert_eq!(root.status.code, StatusCode::Error);
    assert_eq!(charge.status.code, StatusCode::Error);
    assert_eq!(reserve.status.code, StatusCode::Unset);
    assert_eq!(root.kind, heimsight_core::SpanKind::Server);
    assert_eq!(root.attributes["order.total_cents"].to_text(), "1250");
    assert_eq!(root.resource["deployment.environment"].to_text(), "example");
    assert!(root.start_time <= charge.start_time && charge.end_time <= root.end_time);
}
