//! Dormant-account clean-up: the instant a prune counts inactivity from.

use time::{Date, Month, OffsetDateTime, Time};

/// The start (00:00 UTC) of a year, month or day given as `YYYY`, `YYYY-MM` or
/// `YYYY-MM-DD`. Members without a sign-in since then (or, never signed in, created
/// before it) are dormant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InactiveSince(OffsetDateTime);

/// Why a date was refused; the message names the accepted forms.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a date: {reason} (expected YYYY, YYYY-MM or YYYY-MM-DD)")]
pub struct InactiveSinceError {
    text: String,
    reason: &'static str,
}

impl InactiveSince {
    pub fn parse(text: &str) -> Result<Self, InactiveSinceError> {
        let fail = |reason| InactiveSinceError {
            text: text.chars().take(40).collect(),
            reason,
        };
        let mut parts = text.trim().split('-');
        let year = parts
            .next()
            .filter(|y| y.len() == 4)
            .and_then(digits)
            .ok_or_else(|| fail("the year must have four digits"))?;
        let month = match parts.next() {
            None => 1,
            Some(m) => two_digits(m).ok_or_else(|| fail("the month must have two digits"))?,
        };
        let day = match parts.next() {
            None => 1,
            Some(d) => two_digits(d).ok_or_else(|| fail("the day must have two digits"))?,
        };
        if parts.next().is_some() {
            return Err(fail("too many parts"));
        }
        let month = u8::try_from(month)
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .ok_or_else(|| fail("there is no such month"))?;
        let year = i32::try_from(year).map_err(|_| fail("the year is out of range"))?;
        let day = u8::try_from(day).map_err(|_| fail("there is no such day"))?;
        let date = Date::from_calendar_date(year, month, day)
            .map_err(|_| fail("there is no such day in that month"))?;
        Ok(Self(date.with_time(Time::MIDNIGHT).assume_utc()))
    }

    pub fn instant(self) -> OffsetDateTime {
        self.0
    }
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn two_digits(text: &str) -> Option<u32> {
    (text.len() == 2).then(|| digits(text)).flatten()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    fn start(text: &str) -> OffsetDateTime {
        InactiveSince::parse(text).unwrap().instant()
    }

    #[test]
    fn each_form_means_the_start_of_its_period_in_utc() {
        assert_eq!(start("2024"), datetime!(2024-01-01 00:00 UTC));
        assert_eq!(start("2024-07"), datetime!(2024-07-01 00:00 UTC));
        assert_eq!(start("2024-02-29"), datetime!(2024-02-29 00:00 UTC));
        assert_eq!(start("2100"), datetime!(2100-01-01 00:00 UTC));
    }

    #[test]
    fn impossible_dates_are_refused_with_a_reason() {
        for (text, reason) in [
            ("2024-13", "no such month"),
            ("2024-00", "no such month"),
            ("2023-02-29", "no such day"),
            ("2023-02-30", "no such day"),
            ("2024-04-31", "no such day"),
            ("2024-01-00", "no such day"),
            ("24", "four digits"),
            ("2024-1", "two digits"),
            ("2024-01-1", "two digits"),
            ("2024-01-01-01", "too many parts"),
            ("2024/01", "four digits"),
            ("", "four digits"),
            ("2024-01-01T00:00:00Z", "two digits"),
            ("+202", "four digits"),
        ] {
            let error = InactiveSince::parse(text).unwrap_err().to_string();
            assert!(error.contains(reason), "{text}: {error}");
            assert!(error.contains("YYYY-MM-DD"), "{text}: {error}");
        }
    }
}
