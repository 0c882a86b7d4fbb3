#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| siem_pipeline_fuzz::bulk_response(data));
