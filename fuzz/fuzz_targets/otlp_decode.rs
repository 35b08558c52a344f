//! OTLP decoding and conversion never panic: any bytes, as protobuf or OTLP JSON, for any
//! signal, either fail to decode with an error or convert, and whatever converts goes back to
//! OTLP and converts again to the same records.
#![no_main]

use heimsight_core::Timestamp;
use heimsight_ingest::otlp::{self, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let enc = if selector & 1 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    match (selector >> 1) % 3 {
        0 => {
            if let Ok(req) = otlp::decode_logs(body, enc) {
                let c = otlp::logs_from_otlp(req, Timestamp(1));
                let _ = c.error_message();
                let again = otlp::logs_from_otlp(otlp::logs_to_otlp(&c.items), Timestamp(1));
                assert_eq!(again.rejected, 0, "{}", again.error_message());
                assert_eq!(again.items, c.items);
            }
        }
        1 => {
            if let Ok(req) = otlp::decode_traces(body, enc) {
                let c = otlp::spans_from_otlp(req);
                let again = otlp::spans_from_otlp(otlp::spans_to_otlp(&c.items));
                assert_eq!(again.rejected, 0, "{}", again.error_message());
                assert_eq!(again.items, c.items);
            }
        }
        _ => {
            if let Ok(req) = otlp::decode_metrics(body, enc) {
                let c = otlp::points_from_otlp(&req);
                let again = otlp::points_from_otlp(&otlp::points_to_otlp(&c.items));
                assert_eq!(again.rejected, 0, "{}", again.error_message());
                assert_eq!(again.items.len(), c.items.len());
            }
        }
    }
});
