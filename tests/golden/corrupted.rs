//! No input makes a log type panic or run away: every fixture, corrupted at
//! random a few hundred times (bytes replaced by random ones or by JSON
//! punctuation), normalizes to documents and record errors, in bounded
//! output. Such a test found a framer that, past a lost quote, yielded empty
//! records forever.

use std::io::{self, Write};

use siem_pipeline::normalize::{self, Routing};
use siem_pipeline_tests::fixture_inputs;

/// A writer that refuses more than `left` bytes, so that a runaway fails the
/// test instead of exhausting memory.
struct Bounded {
    left: usize,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.left = self
            .left
            .checked_sub(buf.len())
            .ok_or_else(|| io::Error::other("runaway output"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn corrupted_fixtures_give_errors_never_a_panic_or_a_runaway() {
    let dir = std::env::temp_dir().join(format!("siem-corrupted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut failures = Vec::new();
    for log_type in siem_pipeline::log_types::REGISTRY {
        for input in fixture_inputs(log_type.name()) {
            let original = std::fs::read(&input).expect("fixture");
            for round in 0..150 {
                let mut bytes = original.clone();
                for _ in 0..1 + round % 6 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let at = (seed % bytes.len().max(1) as u64) as usize;
                    let punctuation = b"{}[]\":,0 \n"[(seed >> 40) as usize % 10];
                    if let Some(b) = bytes.get_mut(at) {
                        *b = if round % 3 == 0 {
                            punctuation
                        } else {
                            (seed >> 32) as u8
                        };
                    }
                }
                let path = dir.join(format!("{}-{round}", log_type.name()));
                std::fs::write(&path, &bytes).expect("write");
                let routing = Routing::LogType(log_type.name().to_owned());
                let outcome = std::panic::catch_unwind(|| {
                    let (mut out, mut err) =
                        (Bounded { left: 64 << 20 }, Bounded { left: 64 << 20 });
                    normalize::run(&[&path], &routing, "siem", &mut out, &mut err).map(|_| ())
                });
                match outcome {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => failures.push(format!("{} round {round}: {e}", input.display())),
                    Err(_) => failures.push(format!("{} round {round}: panicked", input.display())),
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
