//! Calendar days: the one date type of the desired state and the plan.
//!
//! A [`Date`] is a day of the Gregorian calendar, read in UTC, written `YYYY-MM-DD`.
//! Files give access an end (`expires`) or a review date (`review_after`) as such days,
//! and `--as-of` names the day they are judged on. No function here reads a clock: the
//! day of "today" comes from `roster-cli` as a value.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar day (UTC), written `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(jiff::civil::Date);

/// Why a text is not a [`Date`]; the message names what was wrong, for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateError(String);

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DateError {}

impl Date {
    /// The day `year-month-day`, if the calendar has it.
    pub fn from_ymd(year: i16, month: i8, day: i8) -> Option<Date> {
        jiff::civil::Date::new(year, month, day).ok().map(Date)
    }

    /// Reads exactly `YYYY-MM-DD`: four digits, two, two, of a day the calendar has.
    /// A time, a time zone or any other form is refused rather than cut off, so that a
    /// value never means something other than what it says.
    pub fn parse(text: &str) -> Result<Date, DateError> {
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shaped {
            let reason = if bytes.len() > 10 && bytes.get(4) == Some(&b'-') && text.is_char_boundary(10) {
                "a date takes no time or time zone: write the day only, as YYYY-MM-DD (UTC)"
            } else {
                "expected a date as YYYY-MM-DD"
            };
            return Err(DateError(reason.into()));
        }
        let number = |range: std::ops::Range<usize>| -> i16 {
            text[range].bytes().fold(0i16, |n, b| n * 10 + i16::from(b - b'0'))
        };
        let (year, month, day) = (number(0..4), number(5..7), number(8..10));
        let month = i8::try_from(month).unwrap_or(i8::MAX);
        let day = i8::try_from(day).unwrap_or(i8::MAX);
        Date::from_ymd(year, month, day).ok_or_else(|| {
            DateError(if (1..=12).contains(&month) {
                format!("no such day: {text} (that month has {} days)", days_in_month(year, month))
            } else {
                format!("no such month: {text}")
            })
        })
    }

    /// The day `days` later (earlier for a negative number); `None` past the calendar's
    /// range (year 9999).
    pub fn add_days(self, days: i64) -> Option<Date> {
        self.0.checked_add(jiff::Span::new().try_days(days).ok()?).ok().map(Date)
    }

    /// Days from `self` to `later`: positive when `later` is after `self`.
    pub fn days_until(self, later: Date) -> i64 {
        self.0.until(later.0).map(|span| i64::from(span.get_days())).unwrap_or(0)
    }

    /// The jiff date, for the shell that formats or reads clocks.
    pub fn to_jiff(self) -> jiff::civil::Date {
        self.0
    }

    /// The date of a jiff day.
    pub fn from_jiff(date: jiff::civil::Date) -> Date {
        Date(date)
    }
}

fn days_in_month(year: i16, month: i8) -> i8 {
    jiff::civil::Date::new(year, month, 1).map(|d| d.days_in_month()).unwrap_or(31)
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0.year(), self.0.month(), self.0.day())
    }
}

impl std::str::FromStr for Date {
    type Err = DateError;

    fn from_str(text: &str) -> Result<Date, DateError> {
        Date::parse(text)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Date {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "A calendar day in UTC, written YYYY-MM-DD."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_days_and_refuses_the_rest() {
        assert_eq!(Date::parse("2026-11-30").unwrap().to_string(), "2026-11-30");
        assert_eq!(Date::parse("2028-02-29").unwrap().to_string(), "2028-02-29");
        assert_eq!(
            Date::parse("2026-02-30").unwrap_err().to_string(),
            "no such day: 2026-02-30 (that month has 28 days)"
        );
        assert_eq!(Date::parse("2026-13-01").unwrap_err().to_string(), "no such month: 2026-13-01");
        for timestamp in ["2026-11-30T10:00:00Z", "2026-11-30 10:00", "2026-11-30+01:00"] {
            assert!(
                Date::parse(timestamp).unwrap_err().to_string().contains("no time or time zone"),
                "{timestamp}"
            );
        }
        for bad in ["", "2026-1-30", "26-11-30", "2026/11/30", "２０２６-11-30", "2026-11-3a", "tomorrow"]
        {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_days() {
        let a = Date::parse("2026-11-30").unwrap();
        let b = Date::parse("2027-03-01").unwrap();
        assert_eq!(a.days_until(b), 91);
        assert_eq!(b.days_until(a), -91);
        assert_eq!(a.add_days(91), Some(b));
        assert_eq!(Date::parse("9999-12-31").unwrap().add_days(1), None);
    }

    #[test]
    fn serde_as_text() {
        let a = Date::parse("2026-11-30").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"2026-11-30\"");
        assert_eq!(serde_json::from_str::<Date>("\"2026-11-30\"").unwrap(), a);
        assert!(serde_json::from_str::<Date>("\"2026-11-31\"").is_err());
    }
}
