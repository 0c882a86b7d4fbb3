//! Lets one warning through per period and counts the rest, so that an object
//! of a million bad records logs a handful of lines, not a million.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;

/// A limiter shared by every thread that logs the same kind of warning.
#[derive(Debug)]
pub struct RateLimit {
    period: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimit {
    pub const fn new(period: Duration) -> Self {
        RateLimit {
            period,
            state: Mutex::new(State {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// Whether to log now. The first warning let through after a quiet spell
    /// is preceded by a count of those held back.
    pub fn allow(&self, what: &'static str) -> bool {
        self.allow_at(what, Instant::now())
    }

    fn allow_at(&self, what: &'static str, now: Instant) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return true;
        };
        match state.last {
            Some(t) if now.duration_since(t) < self.period => {
                state.suppressed += 1;
                false
            }
            _ => {
                if state.suppressed > 0 {
                    warn!(
                        suppressed = state.suppressed,
                        what, "similar warnings were suppressed"
                    );
                    state.suppressed = 0;
                }
                state.last = Some(now);
                true
            }
        }
    }

    #[cfg(test)]
    fn suppressed(&self) -> u64 {
        self.state.lock().map(|s| s.suppressed).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_period_is_let_through_and_the_rest_counted() {
        let limit = RateLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(limit.allow_at("x", t0));
        assert!(!limit.allow_at("x", t0 + Duration::from_secs(1)));
        assert!(!limit.allow_at("x", t0 + Duration::from_secs(9)));
        assert_eq!(limit.suppressed(), 2);
        assert!(limit.allow_at("x", t0 + Duration::from_secs(10)));
        assert_eq!(limit.suppressed(), 0, "the count is reported and reset");
    }
}
