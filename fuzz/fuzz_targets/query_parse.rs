//! The query parser and checker never panic and never overflow the stack: any UTF-8 text
//! either parses and checks, or fails with diagnostics that point inside the text, and
//! whatever checks is stable: its output has one column per select item.
#![no_main]

use heimsight_query::ast::SelectItem;
use heimsight_query::{Diagnostics, check, parse};
use libfuzzer_sys::fuzz_target;

fn assert_sane(text: &str, diags: &Diagnostics) {
    assert!(!diags.is_empty(), "an error without a diagnostic");
    for d in diags {
        assert!(d.pos.start <= d.pos.end, "{d:?}");
        assert!(d.pos.end <= text.len(), "{d:?}");
        assert!(d.line >= 1 && d.column >= 1, "{d:?}");
        assert!(!d.message.is_empty());
    }
    let _ = diags.to_string();
    let _ = diags.render(text);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let statement = match parse(text) {
        Ok(s) => s,
        Err(diags) => return assert_sane(text, &diags),
    };
    match check(statement, text) {
        Ok(checked) => {
            let items = &checked.statement.select.items;
            assert_eq!(items.len(), checked.columns.len());
            assert!(items.iter().all(|i| matches!(i, SelectItem::Expr { .. })));
        }
        Err(diags) => assert_sane(text, &diags),
    }
});
