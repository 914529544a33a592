//! The one retry policy: how many times, how long to wait between attempts, and how to read a
//! server's `Retry-After`.
//!
//! Delays grow exponentially from [`Backoff::first_delay`] with full jitter (a uniformly random
//! delay between zero and the exponential ceiling, so clients that failed together do not come
//! back together), each capped by [`Backoff::max_delay`]. A server's `Retry-After` (seconds or an
//! HTTP-date) replaces the computed delay, under the same cap. Retrying stops when the next wait
//! would take the total over [`Backoff::max_total_wait`].

use std::time::Duration;

use jiff::Timestamp;

/// How often to retry a transient failure, and how long to wait in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The waits between attempts.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            backoff: Backoff::default(),
        }
    }
}

/// Exponential backoff with a cap per delay and a cap on the total wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first delay; doubled for each further retry.
    pub first_delay: Duration,
    /// The longest single delay, also the longest `Retry-After` honoured as such.
    pub max_delay: Duration,
    /// The longest total time spent waiting between attempts of one operation.
    pub max_total_wait: Duration,
    /// Whether delays are randomised below their ceiling.
    pub jitter: Jitter,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_total_wait: Duration::from_secs(30),
            jitter: Jitter::Full,
        }
    }
}

/// How a delay is drawn below its exponential ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Uniformly between zero and the ceiling ("full jitter").
    Full,
    /// Exactly the ceiling (deterministic; for tests and reproducible timing).
    None,
}

impl Backoff {
    /// The delay before retry number `retry` (1 = the first retry). A server's `retry_after`
    /// replaces the computed delay; both are capped by [`Backoff::max_delay`].
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        let factor = 1u32 << retry.saturating_sub(1).min(20);
        let ceiling = self.first_delay.saturating_mul(factor).min(self.max_delay);
        match self.jitter {
            Jitter::Full => ceiling.mul_f64(fastrand::f64()),
            Jitter::None => ceiling,
        }
    }
}

/// A `Retry-After` value as a delay from `now`: delta-seconds, or an HTTP-date (IMF-fixdate,
/// and the obsolete RFC 850 and asctime forms RFC 9110 asks recipients to accept). A date in the
/// past is a zero delay; anything else unparsable is `None`.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = parse_http_date(value)?;
    let ahead = when.duration_since(now);
    Some(Duration::try_from(ahead).unwrap_or(Duration::ZERO))
}

/// An HTTP-date (`Date`, `Retry-After`, `Last-Modified`): IMF-fixdate, and the obsolete RFC 850
/// and asctime forms RFC 9110 asks recipients to accept; `None` for anything else.
pub fn parse_http_date(value: &str) -> Option<Timestamp> {
    let value = value.trim();
    if let Ok(when) = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value) {
        return Some(when);
    }
    // RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| {
            let civil = jiff::fmt::strtime::parse(format, value)
                .ok()?
                .to_datetime()
                .ok()?;
            civil
                .to_zoned(jiff::tz::TimeZone::UTC)
                .ok()
                .map(|zoned| zoned.timestamp())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(first_ms: u64, max_ms: u64) -> Backoff {
        Backoff {
            first_delay: Duration::from_millis(first_ms),
            max_delay: Duration::from_millis(max_ms),
            max_total_wait: Duration::from_secs(60),
            jitter: Jitter::None,
        }
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = fixed(250, 1500);
        let delays: Vec<u128> = (1..=5).map(|r| b.delay(r, None).as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 1500, 1500]);
        assert_eq!(b.delay(u32::MAX, None), Duration::from_millis(1500));
    }

    #[test]
    fn full_jitter_stays_below_the_ceiling_and_varies() {
        let b = Backoff {
            jitter: Jitter::Full,
            ..fixed(1000, 60_000)
        };
        let draws: Vec<Duration> = (0..200).map(|_| b.delay(3, None)).collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_secs(4)));
        assert!(draws.iter().any(|d| *d < Duration::from_secs(2)));
        assert!(draws.iter().any(|d| *d > Duration::from_secs(2)));
    }

    #[test]
    fn retry_after_replaces_the_delay_under_the_cap() {
        let b = fixed(10, 5000);
        assert_eq!(
            b.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            b.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(5)
        );
        assert_eq!(b.delay(1, Some(Duration::ZERO)), Duration::ZERO);
    }

    #[test]
    fn retry_after_in_seconds_and_as_http_dates() {
        let now: Timestamp = "1994-11-06T08:49:30Z".parse().unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(date, now),
                Some(Duration::from_secs(7)),
                "{date}"
            );
        }
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        for junk in ["", "soon", "-5", "1.5", "Sun, 06 Nov 1994"] {
            assert_eq!(parse_retry_after(junk, now), None, "{junk:?}");
        }
        assert_eq!(
            parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT"),
            Some("1994-11-06T08:49:37Z".parse().unwrap())
        );
    }
}
