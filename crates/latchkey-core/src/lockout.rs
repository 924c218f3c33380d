//! Brute-force protection. Failures are counted per login key (the account when it exists,
//! otherwise the login string as typed), so an unknown account is throttled exactly like a
//! real one and the answers reveal nothing. After a few failures each further attempt must
//! wait an increasing delay; after `max_failures` the key is locked for `lock_duration`.
//! A successful sign-in clears the record.

use time::{Duration, OffsetDateTime};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the key.
    pub max_failures: u32,
    /// How long a lock lasts.
    pub lock_duration: Duration,
    /// Failures allowed before delays start.
    pub free_failures: u32,
    /// The first delay; it doubles with each further failure, capped at `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 10,
            lock_duration: Duration::minutes(15),
            free_failures: 3,
            base_delay: Duration::seconds(1),
            max_delay: Duration::seconds(30),
        }
    }
}

/// What the store remembers for one login key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginThrottle {
    pub failures: u32,
    pub last_failure_at: Option<OffsetDateTime>,
    pub locked_until: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThrottleDecision {
    Allow,
    /// Refuse without checking the password; try again after this long.
    Wait(Duration),
}

impl LockoutPolicy {
    /// May an attempt proceed now?
    pub fn decide(&self, state: &LoginThrottle, now: OffsetDateTime) -> ThrottleDecision {
        if let Some(until) = state.locked_until {
            if until > now {
                return ThrottleDecision::Wait(until - now);
            }
            // An expired lock starts a fresh count.
            return ThrottleDecision::Allow;
        }
        match (self.delay_after(state.failures), state.last_failure_at) {
            (Some(delay), Some(last)) if last + delay > now => {
                ThrottleDecision::Wait(last + delay - now)
            }
            _ => ThrottleDecision::Allow,
        }
    }

    /// The record after one more failure at `now`.
    pub fn record_failure(&self, state: &LoginThrottle, now: OffsetDateTime) -> LoginThrottle {
        let previous = match state.locked_until {
            Some(until) if until <= now => 0,
            _ => state.failures,
        };
        let failures = previous.saturating_add(1);
        let locked_until = (failures >= self.max_failures).then(|| now + self.lock_duration);
        LoginThrottle {
            failures,
            last_failure_at: Some(now),
            locked_until,
        }
    }

    fn delay_after(&self, failures: u32) -> Option<Duration> {
        if failures <= self.free_failures {
            return None;
        }
        let exponent = (failures - self.free_failures - 1).min(16);
        let delay = self.base_delay * 2i32.pow(exponent);
        Some(delay.min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    #[test]
    fn first_failures_are_free_then_delays_grow() {
        let policy = LockoutPolicy::default();
        let mut state = LoginThrottle::default();
        for _ in 0..3 {
            assert_eq!(policy.decide(&state, at(0)), ThrottleDecision::Allow);
            state = policy.record_failure(&state, at(0));
        }
        assert_eq!(policy.decide(&state, at(0)), ThrottleDecision::Allow);
        state = policy.record_failure(&state, at(0));
        assert_eq!(
            policy.decide(&state, at(0)),
            ThrottleDecision::Wait(Duration::seconds(1))
        );
        assert_eq!(policy.decide(&state, at(1)), ThrottleDecision::Allow);
        state = policy.record_failure(&state, at(1));
        assert_eq!(
            policy.decide(&state, at(1)),
            ThrottleDecision::Wait(Duration::seconds(2))
        );
    }

    #[test]
    fn tenth_failure_locks_for_fifteen_minutes() {
        let policy = LockoutPolicy::default();
        let mut state = LoginThrottle::default();
        for i in 0..10 {
            state = policy.record_failure(&state, at(i * 100));
        }
        assert_eq!(state.locked_until, Some(at(900) + Duration::minutes(15)));
        assert!(matches!(
            policy.decide(&state, at(1000)),
            ThrottleDecision::Wait(_)
        ));
        let after = at(900) + Duration::minutes(15);
        assert_eq!(policy.decide(&state, after), ThrottleDecision::Allow);
        let next = policy.record_failure(&state, after);
        assert_eq!(next.failures, 1, "an expired lock restarts the count");
    }
}
