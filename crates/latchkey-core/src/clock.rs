//! A seam in front of time, so that expiry rules can be tested by moving a clock.

use time::OffsetDateTime;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock, truncated to milliseconds (the precision the stores keep).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        truncate_to_millis(OffsetDateTime::now_utc())
    }
}

/// A clock that stands still until moved; for tests of expiry rules.
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: std::sync::Mutex::new(truncate_to_millis(start)),
        }
    }

    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        self.now
            .lock()
            .map_or(OffsetDateTime::UNIX_EPOCH, |now| *now)
    }
}

/// Drops sub-millisecond precision so values survive a round trip through the store.
pub fn truncate_to_millis(t: OffsetDateTime) -> OffsetDateTime {
    let millis = unix_millis(t);
    from_unix_millis(millis)
}

/// Milliseconds since the Unix epoch; the representation both stores use.
pub fn unix_millis(t: OffsetDateTime) -> i64 {
    // i128 nanoseconds divided down fits i64 milliseconds for any realistic date.
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Inverse of [`unix_millis`]; out-of-range values saturate to the epoch bounds.
pub fn from_unix_millis(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip() {
        let now = SystemClock.now();
        assert_eq!(from_unix_millis(unix_millis(now)), now);
    }
}
