//! The syslog line around an auth message: timestamp, host, program, pid.
//!
//! Accepted shapes (an optional `<PRI>` first):
//! - BSD (RFC 3164): `Nov 28 07:00:00 host sshd[123]: message`, no year;
//! - an RFC 3339 timestamp instead (rsyslog's high-precision format, the
//!   default of recent Debian): `2026-11-28T07:00:00.123456+00:00 host sshd[123]: message`;
//! - RFC 5424: `<38>1 2026-11-28T07:00:00Z host sshd 123 - - message`.
//!
//! A BSD timestamp has neither year nor zone. It is read as UTC, in the year
//! that puts it at most one day after the reference time (the CloudWatch
//! event's timestamp, or now): a line is never dated in the future, and the
//! day of slack absorbs hosts whose local time is ahead of UTC. A line that
//! fits none of the shapes is not an error: it is the message, undated.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    pub timestamp: Option<DateTime<Utc>>,
    pub hostname: Option<&'a str>,
    pub program: Option<&'a str>,
    pub pid: Option<u32>,
    pub message: &'a str,
}

impl<'a> SyslogLine<'a> {
    fn unparsed(line: &'a str) -> Self {
        SyslogLine {
            timestamp: None,
            hostname: None,
            program: None,
            pid: None,
            message: line,
        }
    }
}

pub fn parse(line: &str, reference: DateTime<Utc>) -> SyslogLine<'_> {
    let body = strip_priority(line);
    if let Some(parsed) = body.strip_prefix("1 ").and_then(rfc5424) {
        return parsed;
    }
    let (timestamp, rest) = match body.as_bytes().first() {
        Some(b) if b.is_ascii_digit() => match body.split_once(' ') {
            Some((ts, rest)) => match DateTime::parse_from_rfc3339(ts) {
                Ok(t) => (t.with_timezone(&Utc), rest),
                Err(_) => return SyslogLine::unparsed(line),
            },
            None => return SyslogLine::unparsed(line),
        },
        _ => match bsd_timestamp(body, reference) {
            Some(parsed) => parsed,
            None => return SyslogLine::unparsed(line),
        },
    };
    let rest = rest.trim_start();
    let Some((hostname, rest)) = rest.split_once(' ') else {
        return SyslogLine::unparsed(line);
    };
    let (program, pid, message) = tag(rest);
    SyslogLine {
        timestamp: Some(timestamp),
        hostname: Some(hostname),
        program,
        pid,
        message,
    }
}

fn strip_priority(line: &str) -> &str {
    let priority = line.strip_prefix('<').and_then(|rest| rest.split_once('>'));
    match priority {
        Some((pri, rest))
            if !pri.is_empty() && pri.len() <= 3 && pri.bytes().all(|b| b.is_ascii_digit()) =>
        {
            rest
        }
        _ => line,
    }
}

/// `TIMESTAMP HOST APP PROCID MSGID SD MSG`, with `-` for nil values.
fn rfc5424(rest: &str) -> Option<SyslogLine<'_>> {
    let mut parts = rest.splitn(6, ' ');
    let timestamp = DateTime::parse_from_rfc3339(parts.next()?)
        .ok()?
        .with_timezone(&Utc);
    let nil = |s: &'_ str| s != "-";
    let hostname = parts.next().filter(|s| nil(s));
    let program = parts.next().filter(|s| nil(s));
    let pid = parts.next().and_then(|p| p.parse().ok());
    let _msgid = parts.next()?;
    let rest = parts.next().unwrap_or_default();
    let message = if let Some(m) = rest.strip_prefix("- ") {
        m
    } else if rest == "-" {
        ""
    } else if rest.starts_with('[') {
        // Structured data: skip `[...]` elements (no `]` inside values here).
        let mut r = rest;
        while r.starts_with('[') {
            r = r
                .split_once(']')
                .map(|(_, after)| after)
                .unwrap_or_default();
        }
        r.trim_start()
    } else {
        rest
    };
    Some(SyslogLine {
        timestamp: Some(timestamp),
        hostname,
        program,
        pid,
        message: message.strip_prefix('\u{feff}').unwrap_or(message),
    })
}

/// `Mmm dd HH:MM:SS` (day space-padded or not) and what follows it.
fn bsd_timestamp(body: &str, reference: DateTime<Utc>) -> Option<(DateTime<Utc>, &str)> {
    let month = match body.get(..3)? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let rest = body.get(3..)?.trim_start();
    let (day, rest) = rest.split_once(' ')?;
    let day: u32 = day.parse().ok()?;
    let (time, rest) = rest.split_once(' ')?;
    let time = chrono::NaiveTime::parse_from_str(time, "%H:%M:%S").ok()?;
    let at = |year: i32| {
        NaiveDate::from_ymd_opt(year, month, day).map(|d| NaiveDateTime::new(d, time).and_utc())
    };
    let limit = reference + Duration::days(1);
    // Feb 29 exists only in some years: look back until it fits.
    let timestamp = (0..8)
        .filter_map(|back| at(reference.year() - back))
        .find(|t| *t <= limit)?;
    Some((timestamp, rest))
}

/// `prog[pid]: message`, `prog: message`, or just the message.
fn tag(rest: &str) -> (Option<&str>, Option<u32>, &str) {
    let Some((tag, message)) = rest
        .split_once(": ")
        .or_else(|| rest.strip_suffix(':').map(|t| (t, "")))
    else {
        return (None, None, rest);
    };
    if tag.contains(' ') || tag.is_empty() {
        return (None, None, rest);
    }
    match tag.split_once('[') {
        Some((program, pid)) => match pid.strip_suffix(']').and_then(|p| p.parse().ok()) {
            Some(pid) => (Some(program), Some(pid), message),
            None => (None, None, rest),
        },
        None => (Some(tag), None, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn bsd_line_takes_the_year_of_the_reference() {
        let l = parse(
            "Nov 28 06:59:01 web-1 sshd[4242]: Accepted publickey",
            t("2026-11-28T07:00:00Z"),
        );
        assert_eq!(l.timestamp, Some(t("2026-11-28T06:59:01Z")));
        assert_eq!(l.hostname, Some("web-1"));
        assert_eq!(l.program, Some("sshd"));
        assert_eq!(l.pid, Some(4242));
        assert_eq!(l.message, "Accepted publickey");
    }

    #[test]
    fn a_bsd_date_after_the_reference_is_last_year() {
        let l = parse("Dec 31 23:59:59 h sudo: x", t("2027-01-01T00:00:05Z"));
        assert_eq!(l.timestamp, Some(t("2026-12-31T23:59:59Z")));
        let l = parse("Dec  5 10:00:00 h sudo: x", t("2026-11-28T07:00:00Z"));
        assert_eq!(l.timestamp, Some(t("2025-12-05T10:00:00Z")));
    }

    #[test]
    fn a_bsd_date_a_few_hours_ahead_stays_in_this_year() {
        let l = parse("Nov 28 17:00:00 h sshd[1]: x", t("2026-11-28T07:00:00Z"));
        assert_eq!(l.timestamp, Some(t("2026-11-28T17:00:00Z")));
    }

    #[test]
    fn february_29_goes_back_to_a_leap_year() {
        let l = parse("Feb 29 12:00:00 h su: x", t("2026-11-28T07:00:00Z"));
        assert_eq!(l.timestamp, Some(t("2024-02-29T12:00:00Z")));
    }

    #[test]
    fn space_padded_days_and_tags_without_pid_are_read() {
        let l = parse(
            "Jun  2 19:08:43 host.example.com sudo:      tsg : user NOT in sudoers",
            t("2026-11-28T07:00:00Z"),
        );
        assert_eq!(l.timestamp, Some(t("2026-06-02T19:08:43Z")));
        assert_eq!(l.program, Some("sudo"));
        assert_eq!(l.pid, None);
        assert_eq!(l.message, "     tsg : user NOT in sudoers");
    }

    #[test]
    fn rfc3339_timestamps_carry_their_own_year_and_zone() {
        let l = parse(
            "2026-11-28T08:00:00.123456+01:00 web-1 sshd[7]: Connection closed",
            t("2020-01-01T00:00:00Z"),
        );
        assert_eq!(l.timestamp, Some(t("2026-11-28T07:00:00.123456Z")));
        assert_eq!(l.message, "Connection closed");
    }

    #[test]
    fn rfc5424_lines_are_read() {
        let l = parse(
            "<38>1 2026-11-28T07:00:00Z web-1 sshd 99 - - Accepted password",
            t("2020-01-01T00:00:00Z"),
        );
        assert_eq!(l.program, Some("sshd"));
        assert_eq!(l.pid, Some(99));
        assert_eq!(l.message, "Accepted password");
        let l = parse(
            "<38>1 2026-11-28T07:00:00Z web-1 sshd - - [x@1 a=\"b\"] hello",
            t("2020-01-01T00:00:00Z"),
        );
        assert_eq!(l.message, "hello");
    }

    #[test]
    fn anything_else_is_an_undated_message() {
        let l = parse("kernel panic: something", t("2026-11-28T07:00:00Z"));
        assert_eq!(l.timestamp, None);
        assert_eq!(l.message, "kernel panic: something");
    }
}
