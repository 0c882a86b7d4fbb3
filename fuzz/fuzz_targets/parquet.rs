#![no_main]

// The parquet crate panics on some corrupt pages; the reader catches that
// (`decode::parquet`) and makes it an error of the object. libFuzzer's panic
// hook would count the caught panic as a crash, so this target puts the
// default hook back: a panic that escapes the reader still aborts the run.
static DEFAULT_HOOK: std::sync::Once = std::sync::Once::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    DEFAULT_HOOK.call_once(|| drop(std::panic::take_hook()));
    siem_pipeline_fuzz::parquet(data)
});
