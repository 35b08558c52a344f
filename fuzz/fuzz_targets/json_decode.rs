//! The REST API's plain-JSON decoding never panics, whatever the bytes.
#![no_main]

use heimsight_ingest::json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = json::decode_logs(data);
    let _ = json::decode_spans(data);
    let _ = json::decode_points(data);
});
